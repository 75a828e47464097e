package reflector

import "github.com/controlloop/controlloop"

// Store is where a [Reflector] writes what it sees: in the pipeline, the
// DeltaFIFO. The reflector calls it from one goroutine at a time, in the
// order of the source's changes; an implementation shared with other
// goroutines must do its own locking.
//
// An error from any method makes the reflector log it, report it (wrapped
// in [ErrStore]) and list again, so that the store is handed a complete
// state through Replace.
type Store[T controlloop.Object] interface {
	// Add records an object that was created or came into the selector.
	Add(obj T) error
	// Update records a new state of an object.
	Update(obj T) error
	// Delete records that an object was deleted or left the selector; obj
	// is its last state.
	Delete(obj T) error
	// Replace hands over the complete set of selected objects as of
	// resourceVersion, replacing whatever the store held.
	Replace(items []T, resourceVersion string) error
	// Resync asks the store to re-deliver the objects it holds. It is
	// called every Options.ResyncPeriod while the reflector watches.
	Resync() error
}

// A ProgressStore is a [Store] that also wants to know the version its
// writes have brought it to. The reflector calls Progress after each
// Replace with the list's version, after each watch event it handed to the
// store with the event's version, and on each Bookmark with the bookmark's
// version, always after the write that version covers and from the
// goroutine that writes. A consumer can then tell which version of the
// source it has applied (package informer does, through package
// deltafifo).
type ProgressStore[T controlloop.Object] interface {
	Store[T]
	Progress(resourceVersion string)
}
