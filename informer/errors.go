package informer

import "errors"

var (
	// ErrAlreadyRunning is returned by Run when the informer runs already,
	// or ran before: an informer runs once.
	ErrAlreadyRunning = errors.New("informer: already running")
	// ErrNilHandler is returned by AddHandler for a nil handler.
	ErrNilHandler = errors.New("informer: nil handler")
	// ErrStopped is returned by AddHandler once Run has returned.
	ErrStopped = errors.New("informer: stopped")
)
