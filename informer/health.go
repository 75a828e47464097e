package informer

import (
	"errors"
	"fmt"
	"time"

	"github.com/controlloop/controlloop/reflector"
)

// Health is how an informer keeps up with its source: its reflector's
// health (the time the source last answered, and the error it is failing
// with, if any) and whether the cache holds the first list. A readiness
// probe reads it as
//
//	h := inf.Health()
//	ready := h.Synced && h.Err == nil
//
// See [reflector.Health] for when Err is set and cleared: a quiet source
// whose watch is up is healthy however old LastSuccess is.
type Health struct {
	reflector.Health
	// Synced reports whether the cache holds the source's first list, as
	// [Informer.HasSynced] does. It stays true through later failures: the
	// cache keeps serving what it last saw.
	Synced bool
}

// Health reports how the informer keeps up with its source. It is safe to
// call at any time, from any goroutine; a nil or zero Informer reports the
// zero Health.
func (i *Informer[T]) Health() Health {
	if !i.usable() {
		return Health{}
	}
	return Health{Health: i.reflector.Health(), Synced: i.HasSynced()}
}

// Ready returns nil once the cache holds the source's first list and the
// informer is not failing to list or watch it ([Health]): what a readiness
// probe asks. Otherwise it returns an error naming the informer
// (Options.Name) that wraps [ErrNotSynced] until the cache has synced, and
// Health.Err while the informer fails; both, joined, if both hold. It is
// safe to call at any time, from any goroutine; on a nil or zero Informer
// it returns an error wrapping [controlloop.ErrInvalid].
func (i *Informer[T]) Ready() error {
	if !i.usable() {
		return errNotNew("Ready")
	}
	h := i.Health()
	var errs []error
	if !h.Synced {
		errs = append(errs, fmt.Errorf("%w: %s", ErrNotSynced, i.name))
	}
	if h.Err != nil {
		errs = append(errs, fmt.Errorf("informer: %s failing since %s: %w", i.name, h.FailingSince.UTC().Format(time.RFC3339), h.Err))
	}
	return errors.Join(errs...)
}
