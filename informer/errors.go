package informer

import (
	"errors"
	"fmt"

	"github.com/controlloop/controlloop"
)

var (
	// ErrNilHandler is returned by AddHandler for a nil handler. It wraps
	// [controlloop.ErrInvalid].
	ErrNilHandler = fmt.Errorf("informer: nil handler: %w", controlloop.ErrInvalid)
	// ErrStopped is returned by AddHandler once the context of the
	// informer's Run has ended, and by [Shared] once the factory's Run has
	// returned (or is returning): neither would ever deliver anything.
	ErrStopped = errors.New("informer: stopped")
	// ErrNotSynced is wrapped by the error of [Informer.Ready] and
	// [Factory.Ready] while a cache does not yet hold its source's first
	// list.
	ErrNotSynced = errors.New("informer: not synced")
)

// errOption returns the error for an invalid option field: it names the
// field (with its struct, "Options.X" or "HandlerOptions.X"), its value and
// the rule, and wraps [controlloop.ErrInvalid].
func errOption(field string, value any, rule string) error {
	return fmt.Errorf("informer: %s is %v: %s: %w", field, value, rule, controlloop.ErrInvalid)
}

// errNotNew returns the error of method op called on an Informer (or
// Factory) that cannot run: nil, or not made by its constructor.
func errNotNew(op string) error {
	return fmt.Errorf("informer: %s: not made by New: %w", op, controlloop.ErrInvalid)
}
