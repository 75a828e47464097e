package reflector

import (
	"errors"
	"fmt"

	"github.com/controlloop/controlloop"
)

// Errors the reflector reports to Options.WatchErrorHandler and in
// [Health]. Every error it reports wraps one of ErrList, ErrWatch and
// ErrStore, and the source's error, if any. Test for them with [errors.Is].
var (
	// ErrList wraps the error of a List call of the source that failed.
	ErrList = errors.New("reflector: list failed")
	// ErrWatch wraps the error that ended a watch: a Watch call that
	// failed, or an Error event (whose Err it also wraps). ErrShortWatch
	// and ErrBadEvent wrap it too.
	ErrWatch = errors.New("reflector: watch failed")
	// ErrStore wraps an error returned by the [Store]: the reflector then
	// lists again, to give the store a complete state.
	ErrStore = errors.New("reflector: store failed")
	// ErrShortWatch means a watch ended before delivering any event; the
	// reflector backs off before watching again, so that a source that
	// closes every watch at once is not called in a tight loop.
	ErrShortWatch = fmt.Errorf("%w: ended without an event", ErrWatch)
	// ErrBadEvent means a watch delivered an event the reflector cannot
	// apply (an unknown type, or no object where one is required), or Watch
	// returned neither a channel nor an error. The reflector backs off and
	// watches again from the last good version.
	ErrBadEvent = fmt.Errorf("%w: malformed event", ErrWatch)
)

// errOption returns the error for an invalid Options field: it names the
// field, its value and the rule, and wraps [controlloop.ErrInvalid].
func errOption(field string, value any, rule string) error {
	return fmt.Errorf("reflector: Options.%s is %v: %s: %w", field, value, rule, controlloop.ErrInvalid)
}
