package controlloop

import (
	"context"
	"strconv"
)

// Selector chooses objects by namespace and by equality of labels. The zero
// Selector matches everything.
type Selector struct {
	// Namespace, if not empty, matches only objects in that namespace.
	Namespace string
	// Labels, if not empty, matches only objects that carry every one of
	// these labels with exactly these values.
	Labels map[string]string
}

// Matches reports whether o is chosen by s.
func (s Selector) Matches(o Object) bool {
	if s.Namespace != "" && o.GetNamespace() != s.Namespace {
		return false
	}
	return s.MatchesLabels(o.GetObjectMeta().Labels)
}

// MatchesLabels reports whether labels carry every label of s.
func (s Selector) MatchesLabels(labels map[string]string) bool {
	for k, v := range s.Labels {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// ListOptions asks a [Lister] for a page of objects.
type ListOptions struct {
	Selector
	// Limit, if positive, caps the number of items in the page; the result's
	// Continue token then asks for the next one.
	Limit int
	// Continue is the token from the previous page. All pages of one list
	// are read at the version of the first.
	Continue string
}

// ListResult is one page of a list.
type ListResult[T Object] struct {
	Items []T
	// ResourceVersion is the version the list was read at: watch from it to
	// see every later change.
	ResourceVersion string
	// Continue, if not empty, asks for the next page.
	Continue string
}

// WatchOptions asks a [Watcher] for a stream of changes.
type WatchOptions struct {
	Selector
	// ResourceVersion: events start strictly after this version. Empty means
	// "from now".
	ResourceVersion string
	// AllowBookmarks lets the source send Bookmark events, which carry only a
	// newer version, so that a later watch can resume from further on.
	AllowBookmarks bool
}

// EventType says what an [Event] reports.
type EventType uint8

// The kinds of watch event.
const (
	// Added: the object was created, or entered the selector.
	Added EventType = iota + 1
	// Modified: the object changed.
	Modified
	// Deleted: the object was removed; Object holds its last state.
	Deleted
	// Bookmark: nothing changed up to ResourceVersion; Object is zero.
	Bookmark
	// Error: the watch failed with Err and its channel closes next.
	// An Err wrapping [ErrExpired] means: list again.
	Error
)

// String returns the event type's name.
func (t EventType) String() string {
	switch t {
	case Added:
		return "Added"
	case Modified:
		return "Modified"
	case Deleted:
		return "Deleted"
	case Bookmark:
		return "Bookmark"
	case Error:
		return "Error"
	}
	return "EventType(" + strconv.Itoa(int(t)) + ")"
}

// Event is one change seen by a watch. Every event but Error carries the
// version it brings the watcher to in ResourceVersion.
type Event[T Object] struct {
	Type            EventType
	Object          T
	ResourceVersion string
	Err             error
}

// Lister lists objects.
type Lister[T Object] interface {
	// List returns the objects that opts selects, one page at a time when
	// opts.Limit is set, in an order the backend documents and keeps across
	// pages; every page shows the state at the first page's version. A
	// Continue token whose version has expired yields an error wrapping
	// [ErrExpired]. Package sourcetest checks these rules for a backend.
	List(ctx context.Context, opts ListOptions) (ListResult[T], error)
}

// Watcher watches objects.
type Watcher[T Object] interface {
	// Watch streams the changes that opts selects, starting strictly after
	// opts.ResourceVersion, in order and with no gap. A version the source no
	// longer holds yields an error wrapping [ErrExpired], either at once or as
	// an Error event.
	//
	// The channel closes when the watch ends: ctx was cancelled, an Error
	// event was sent, or the source closed it (a broken connection, a watcher
	// too slow to keep up). The caller then watches again from the last
	// version it saw. The caller must cancel ctx when it stops reading.
	Watch(ctx context.Context, opts WatchOptions) (<-chan Event[T], error)
}

// ListerWatcher is a source of objects: what a reflector consumes.
type ListerWatcher[T Object] interface {
	Lister[T]
	Watcher[T]
}

// DeleteOptions qualify a delete.
type DeleteOptions struct {
	// ResourceVersion, if not empty, is a precondition: the delete fails with
	// [ErrConflict] unless the stored object is at this version.
	ResourceVersion string
}

// Client writes and reads objects of one type. Controllers written against
// it run unchanged on every backend (memstore, etcd).
//
// Create, Update and UpdateStatus return the object as stored, with the
// version the store gave it; they never modify their argument.
type Client[T Object] interface {
	Lister[T]
	// Get returns the object with the key, or an error wrapping [ErrNotFound].
	Get(ctx context.Context, key Key) (T, error)
	// Create stores a new object, or fails with [ErrAlreadyExists].
	Create(ctx context.Context, obj T) (T, error)
	// Update replaces the object whose version obj carries, increasing its
	// Generation. A stale version fails with [ErrConflict], a missing object
	// with [ErrNotFound], an empty version with [ErrInvalid].
	Update(ctx context.Context, obj T) (T, error)
	// UpdateStatus is Update that keeps Generation: use it to record
	// observed state, so that watchers of Generation see only changes of
	// desired state.
	UpdateStatus(ctx context.Context, obj T) (T, error)
	// Delete removes the object with the key, or fails with [ErrNotFound]
	// (or [ErrConflict] when a version precondition does not hold).
	Delete(ctx context.Context, key Key, opts DeleteOptions) error
}
