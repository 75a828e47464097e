package reflector

import "errors"

// Errors the reflector reports to Options.WatchErrorHandler, besides those of
// the source. Test for them with [errors.Is].
var (
	// ErrStore wraps an error returned by the [Store]: the reflector then
	// lists again, to give the store a complete state.
	ErrStore = errors.New("reflector: store failed")
	// ErrShortWatch means a watch ended before delivering any event; the
	// reflector backs off before watching again, so that a source that
	// closes every watch at once is not called in a tight loop.
	ErrShortWatch = errors.New("reflector: watch ended without an event")
	// ErrBadEvent means a watch delivered an event the reflector cannot
	// apply (an unknown type, or no object where one is required), or Watch
	// returned neither a channel nor an error. The reflector backs off and
	// watches again from the last good version.
	ErrBadEvent = errors.New("reflector: malformed watch event")
)
