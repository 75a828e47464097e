package informer

import (
	"context"
	"reflect"

	"github.com/controlloop/controlloop"
)

// applied is the newest version of the source the cache holds, with the
// channel that closes when a newer one replaces it. A new value is
// published for each advance; readers load it without a lock.
type applied struct {
	version  string
	advanced chan struct{}
}

// AppliedVersion returns the newest version of the source that the cache
// has applied, "" before the first list has been: every change the source
// made up to that version is in the cache (and what Reader reads), and so
// is nothing newer. A list, each watch event and each bookmark advance it,
// once the cache has applied what came before them. It also returns a
// channel that is closed as soon as the version advances past the one
// returned, so that a caller can wait for a version without polling: read
// the version, compare, and if it is too old wait on the channel and read
// again.
//
// The order of versions is the source's: see [Informer.Versions].
func (i *Informer[T]) AppliedVersion() (version string, advanced <-chan struct{}) {
	if !i.usable() {
		return "", nil // never advances
	}
	a := i.applied.Load()
	return a.version, a.advanced
}

// Versions returns the source's [controlloop.VersionComparer], with which
// versions from [Informer.AppliedVersion] compare, or nil when the source's
// versions are not ordered (its ListerWatcher does not implement it).
func (i *Informer[T]) Versions() controlloop.VersionComparer {
	if !i.usable() {
		return nil
	}
	return i.versions
}

// advance publishes version as applied, waking those waiting for an
// advance. It is called on Run's goroutine, after a batch is written.
func (i *Informer[T]) advance(version string) {
	old := i.applied.Load()
	if version == "" || version == old.version {
		return
	}
	i.applied.Store(&applied{version: version, advanced: make(chan struct{})})
	close(old.advanced)
}

// A VersionedCache reports the version of its source that it has applied,
// as [Informer.AppliedVersion] does: every *Informer is one.
type VersionedCache interface {
	AppliedVersion() (version string, advanced <-chan struct{})
}

// WaitUntil waits until cond returns true: it calls cond at once, then
// again each time one of caches applies a newer version of its source (a
// change, a list or a bookmark), never on a timer. It returns nil once
// cond has returned true, or ctx.Err() if ctx ends first. cond should read
// only what caches hold: a condition on anything else is not re-checked
// when that changes.
func WaitUntil(ctx context.Context, cond func() bool, caches ...VersionedCache) error {
	cases := make([]reflect.SelectCase, len(caches)+1)
	cases[0] = reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())}
	for {
		// Take the channels before calling cond, so that an advance while
		// cond runs wakes the wait below.
		for n, c := range caches {
			_, advanced := c.AppliedVersion()
			cases[n+1] = reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(advanced)}
		}
		if cond() {
			return nil
		}
		if chosen, _, _ := reflect.Select(cases); chosen == 0 {
			return ctx.Err()
		}
	}
}
