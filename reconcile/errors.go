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
	// ErrHandlerSyncTimeout is returned by Run when the caches synced but
	// their initial lists were not all delivered to the controller's
	// [Watch] bindings within Options.HandlerSyncTimeout.
	ErrHandlerSyncTimeout = errors.New("reconcile: timed out waiting for handlers to receive their initial lists")
	// ErrShutdownTimeout is returned by Run when reconciles still ran a
	// bounded wait after their context was cancelled (at shutdown or when
	// leadership was lost): a reconciler that ignores its context.
	ErrShutdownTimeout = errors.New("reconcile: reconciles still running after their context was cancelled")
	// ErrElectorInUse is returned by a LeaderElector's Lead while another
	// Lead of the same elector is still campaigning or leading: one elector
	// is one candidate, so share leadership through a [Manager] instead.
	ErrElectorInUse = errors.New("reconcile: leader elector already in use by another Lead")
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
