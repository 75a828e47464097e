package reconcile

import (
	"errors"
	"fmt"
)

var (
	// ErrTerminal marks errors that retrying cannot fix: wrap one with
	// [TerminalError]. Test with errors.Is(err, ErrTerminal).
	ErrTerminal = errors.New("reconcile: terminal error")
	// ErrCacheSyncTimeout is returned by Run when the caches the controller
	// reads did not sync within Options.CacheSyncTimeout.
	ErrCacheSyncTimeout = errors.New("reconcile: timed out waiting for caches to sync")
	// ErrShutdownTimeout is returned by Run when reconciles still ran after
	// the grace period and the cancelled context: a reconciler that ignores
	// its context.
	ErrShutdownTimeout = errors.New("reconcile: reconciles still running after the shutdown grace period")
	// ErrAlreadyRunning is returned by Run when the controller (or manager)
	// runs already.
	ErrAlreadyRunning = errors.New("reconcile: already running")
)

// TerminalError wraps err to say that retrying will not help: the
// controller records it and does not requeue the request. A nil err gives a
// terminal error with no further detail.
func TerminalError(err error) error {
	return &terminalError{err: err}
}

type terminalError struct{ err error }

func (e *terminalError) Error() string {
	if e.err == nil {
		return ErrTerminal.Error()
	}
	return fmt.Sprintf("terminal error: %v", e.err)
}

func (e *terminalError) Unwrap() []error {
	if e.err == nil {
		return []error{ErrTerminal}
	}
	return []error{e.err, ErrTerminal}
}
