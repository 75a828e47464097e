package etcd

import (
	"errors"
	"fmt"

	"github.com/controlloop/controlloop"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

// Errors of this package, besides the root package's sentinels
// ([controlloop.ErrNotFound], [controlloop.ErrConflict],
// [controlloop.ErrAlreadyExists], [controlloop.ErrExpired],
// [controlloop.ErrInvalid]). Test for them with [errors.Is].
var (
	// ErrNotLeader means a write through a fenced source ([Source.Fenced])
	// was refused because its elector does not lead: either it knew so and
	// did not send the write, or etcd found in the write's transaction that
	// the election key of its term is gone (a deposed leader).
	ErrNotLeader = errors.New("etcd: not the leader")
	// ErrDecode means a value under the source's prefix could not be
	// decoded by its codec, or its key does not have the form
	// <prefix>/<namespace>/<name>. Get fails with it; List and Watch skip
	// such a value and report it (see [Options].OnDecodeError): remove or
	// repair the key.
	ErrDecode = errors.New("etcd: undecodable value")
	// ErrUnavailable means etcd could not be reached: a watch that heard
	// nothing for Options.UnavailableAfter and whose probing read failed
	// too, or whose member has no leader, ends with an Error event wrapping
	// it. Watch again (a reflector does): the new watch resumes once etcd
	// is back.
	ErrUnavailable = errors.New("etcd: unavailable")
	// ErrKind means the [JSON] codec found a value of another kind than
	// the source's objects: a second type stored under the same prefix.
	// The source reports it as an error wrapping [ErrDecode] too.
	ErrKind = errors.New("etcd: value of another kind")
)

// mapErr translates an etcd client error into the root package's
// vocabulary: ErrCompacted becomes ErrExpired (list again), ErrFutureRev
// becomes ErrInvalid, ErrNoLeader becomes ErrUnavailable. Other errors, such as a context's, pass unchanged.
func mapErr(err error) error {
	switch {
	case errors.Is(err, rpctypes.ErrCompacted):
		return fmt.Errorf("%w: %w", controlloop.ErrExpired, err)
	case errors.Is(err, rpctypes.ErrFutureRev):
		return fmt.Errorf("%w: %w", controlloop.ErrInvalid, err)
	case errors.Is(err, rpctypes.ErrNoLeader):
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// invalid returns an error wrapping [controlloop.ErrInvalid] that names
// the field of an option, its value and the rule the value breaks.
func invalid(field string, value any, rule string) error {
	return fmt.Errorf("etcd: %s is %v: %s: %w", field, value, rule, controlloop.ErrInvalid)
}

// Errors of values not made by their constructor: a nil pointer or a zero
// value.
var (
	errZeroSource  = fmt.Errorf("etcd: Source not made by New (nil or zero): %w", controlloop.ErrInvalid)
	errZeroElector = fmt.Errorf("etcd: Elector not made by NewElector (nil or zero): %w", controlloop.ErrInvalid)
)
