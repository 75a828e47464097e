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
	// <prefix>/<namespace>/<name>. List fails with it and a watch ends with
	// an Error event carrying it: remove or repair the key.
	ErrDecode = errors.New("etcd: undecodable value")
)

// mapErr translates an etcd client error into the root package's
// vocabulary: ErrCompacted becomes ErrExpired (list again), ErrFutureRev
// becomes ErrInvalid. Other errors, such as a context's, pass unchanged.
func mapErr(err error) error {
	switch {
	case errors.Is(err, rpctypes.ErrCompacted):
		return fmt.Errorf("%w: %w", controlloop.ErrExpired, err)
	case errors.Is(err, rpctypes.ErrFutureRev):
		return fmt.Errorf("%w: %w", controlloop.ErrInvalid, err)
	}
	return err
}
