package memstore

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/controlloop/controlloop"
)

// Watch streams the changes opts selects, starting strictly after
// opts.ResourceVersion ("from now" if empty), in order, with no gap and no
// duplicate: first the changes the history holds, then live ones. A version
// older than the history window, or compacted away, fails with
// [controlloop.ErrExpired]; a version newer than the store's is accepted,
// and the watch starts once the store reaches it (for
// 18446744073709551615, the largest, never: the watch waits until it is
// closed). A version that is not a decimal number as the store writes them
// (no sign, no leading zero, at most the largest) fails with
// [controlloop.ErrInvalid].
//
// Under a selector, a change that brings an object into the selector is
// reported as Added, one that takes it out as Deleted (carrying the state
// before the change, stamped with the change's version), like an API server
// does.
//
// A consumer that falls behind keeps its watch: its goroutine catches up
// from the history, however many changes wait, while the history still
// holds the next change it has to deliver. Once that change has left the
// history (Options.HistorySize), the watch ends with an Error event
// wrapping [controlloop.ErrExpired], after every change before it: the
// consumer lists again.
//
// The channel closes when ctx is done, after [Store.BreakWatches], or after
// an Error event (the history passing the watch, [Store.FailWatches], or
// [Store.Compact] discarding changes the watch had yet to deliver). Each
// watch runs one goroutine, which exits once the channel is closed.
func (s *Store[T]) Watch(ctx context.Context, opts controlloop.WatchOptions) (<-chan controlloop.Event[T], error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.init()
	if err := checkSelector(opts.Selector); err != nil {
		return nil, fmt.Errorf("memstore: watch: %w", err)
	}
	var from uint64
	if opts.ResourceVersion != "" {
		var err error
		if from, err = parseRV(opts.ResourceVersion); err != nil {
			return nil, err
		}
	}
	if err := s.takeFault(&s.failWatch); err != nil {
		return nil, err
	}

	s.mu.Lock()
	if err := s.unavailable; err != nil {
		s.mu.Unlock()
		return nil, err
	}
	if opts.ResourceVersion == "" {
		from = s.rv
	} else if low := s.lockedOldestValid(); from < low {
		s.mu.Unlock()
		return nil, fmt.Errorf("memstore: watch from version %d: %w (oldest available is %d)", from, controlloop.ErrExpired, low)
	}
	w := &watcher[T]{
		sel:      opts.Selector,
		matchAll: opts.Namespace == "" && len(opts.Labels) == 0,
		ch:       make(chan controlloop.Event[T], chanCap),
		wake:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
	}
	if opts.AllowBookmarks {
		w.progress = make(chan struct{}, 1)
	}
	// from+1 would wrap for the largest version, which no write can reach
	// (it would take 2^64 of them): such a watch waits at it for ever.
	w.next.Store(min(from, math.MaxUint64-1) + 1)
	s.watchers[w] = struct{}{}
	s.mu.Unlock()

	var tick <-chan time.Time
	if opts.AllowBookmarks && s.opts.BookmarkInterval > 0 {
		t := time.NewTicker(s.opts.BookmarkInterval)
		tick = t.C
		go func() {
			defer t.Stop()
			w.run(ctx, s, tick)
		}()
	} else {
		go w.run(ctx, s, nil)
	}
	return w.ch, nil
}

// RequestProgress asks every open watch that allowed bookmarks
// (WatchOptions.AllowBookmarks) for a Bookmark, as etcd's progress request
// does: each watch sends one once it has delivered every change written
// before, carrying the version it has been brought to, if that moved past
// the last event it sent (changes its selector filtered out move it). It
// does not wait for them.
func (s *Store[T]) RequestProgress() {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for w := range s.watchers {
		if w.progress == nil {
			continue
		}
		select {
		case w.progress <- struct{}{}:
		default: // a request is already pending
		}
	}
}

// watcher is one open watch. Its goroutine walks the history from a cursor
// and sends what its selector lets through; writers only nudge it.
type watcher[T controlloop.Object] struct {
	sel      controlloop.Selector
	matchAll bool // sel is the zero Selector
	ch       chan controlloop.Event[T]
	// wake holds a nudge from a writer: there may be changes to read.
	wake chan struct{}
	// next is the version of the next change to deliver: the change the
	// goroutine is sending counts as delivered. The goroutine stores it,
	// writers load it to measure how far behind it is.
	next atomic.Uint64
	// progress holds a request for a bookmark (Store.RequestProgress); nil
	// if the watch did not allow bookmarks.
	progress chan struct{}

	// stop is closed, and stopErr set, under the store's lock by whoever
	// ends the watch from outside. Guarded by that lock: stopped, stopErr.
	stop    chan struct{}
	stopped bool
	stopErr error
}

// lockedNudge tells w that the history changed, its oldest change being
// oldest, and ends w with ErrExpired if the next change it has to deliver
// has left the history.
func (w *watcher[T]) lockedNudge(s *Store[T], oldest uint64) {
	if next := w.next.Load(); next < oldest {
		s.lockedEndWatch(w, fmt.Errorf("memstore: watch at version %d: %w (the history passed it: oldest held is %d)", next-1, controlloop.ErrExpired, oldest))
		return
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// lockedEndWatch stops w: its goroutine sends an Error event carrying err,
// if err is not nil, and closes its channel.
func (s *Store[T]) lockedEndWatch(w *watcher[T], err error) {
	if w.stopped {
		return
	}
	w.stopped, w.stopErr = true, err
	close(w.stop)
	delete(s.watchers, w)
}

// run is the watcher's goroutine. It closes w.ch when it returns.
func (w *watcher[T]) run(ctx context.Context, s *Store[T], tick <-chan time.Time) {
	defer close(w.ch)
	defer func() {
		s.mu.Lock()
		delete(s.watchers, w)
		w.stopped = true
		s.mu.Unlock()
	}()

	batch := make([]change[T], 0, batchSize)
	sent := w.next.Load() - 1 // the version the consumer has been brought to
	for {
		var ended bool
		batch, ended = w.read(s, batch[:0])
		if ended {
			w.sendStopError(ctx, s)
			return
		}
		for _, c := range batch {
			ev, ok := w.convert(s, c)
			// c counts as delivered before it is sent: a consumer that has
			// received it may Compact through it at once, and must find the
			// watch past it, not behind.
			w.next.Store(c.rv + 1)
			if ok {
				select {
				case <-w.stop:
					w.sendStopError(ctx, s)
					return
				default:
				}
				select {
				case w.ch <- ev:
					sent = c.rv
				case <-ctx.Done():
					return
				case <-w.stop:
					w.sendStopError(ctx, s)
					return
				}
			}
		}
		if len(batch) > 0 {
			continue
		}
		select {
		case <-w.wake:
		case <-ctx.Done():
			return
		case <-w.stop:
			w.sendStopError(ctx, s)
			return
		case <-tick:
			if !w.bookmark(ctx, s, &sent) {
				return
			}
		case <-w.progress:
			if !w.bookmark(ctx, s, &sent) {
				return
			}
		}
	}
}

// bookmark sends a Bookmark at the version w has been brought to, if it
// moved past *sent, the last version sent. It is called only when w has
// delivered every change the store held when it last read, so the
// bookmark is never ahead of a change still to come. It returns false if
// the watch ended.
func (w *watcher[T]) bookmark(ctx context.Context, s *Store[T], sent *uint64) bool {
	at := w.next.Load() - 1
	if at <= *sent {
		return true
	}
	select {
	case w.ch <- controlloop.Event[T]{Type: controlloop.Bookmark, ResourceVersion: formatRV(at)}:
		*sent = at
		return true
	case <-ctx.Done():
		return false
	case <-w.stop:
		w.sendStopError(ctx, s)
		return false
	}
}

// read appends to batch the next changes w has to deliver, up to batchSize.
// ended reports that w was stopped or fell out of the history window.
func (w *watcher[T]) read(s *Store[T], batch []change[T]) (_ []change[T], ended bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if w.stopped {
		return batch, true
	}
	next := w.next.Load()
	if next > s.rv {
		return batch, false
	}
	if oldest, ok := s.hist.oldest(); !ok || next < oldest {
		return batch, true // unreachable: writers end such watchers first
	}
	for v := next; v <= s.rv && len(batch) < cap(batch); v++ {
		batch = append(batch, s.hist.at(v))
	}
	return batch, false
}

// sendStopError sends the Error event of a watch ended with an error.
func (w *watcher[T]) sendStopError(ctx context.Context, s *Store[T]) {
	s.mu.RLock()
	err := w.stopErr
	s.mu.RUnlock()
	if err == nil {
		return
	}
	select {
	case w.ch <- controlloop.Event[T]{Type: controlloop.Error, Err: err}:
	case <-ctx.Done():
	}
}

// convert turns a change into the event w's consumer sees, if any: a copy of
// the object, with moves into and out of the selector reported as Added and
// Deleted.
func (w *watcher[T]) convert(s *Store[T], c change[T]) (controlloop.Event[T], bool) {
	typ := c.typ
	obj := c.obj
	if !w.matchAll {
		now := c.typ != controlloop.Deleted && w.sel.Matches(c.obj)
		was := c.typ != controlloop.Added && w.sel.Matches(c.prev)
		switch {
		case c.typ == controlloop.Deleted:
			if !was {
				return controlloop.Event[T]{}, false
			}
		case now && was:
		case now:
			typ = controlloop.Added
		case was:
			typ, obj = controlloop.Deleted, c.prev
		default:
			return controlloop.Event[T]{}, false
		}
	}
	rv := c.obj.GetResourceVersion()
	out := s.copyOut(obj)
	if typ == controlloop.Deleted && c.typ == controlloop.Modified {
		out.GetObjectMeta().ResourceVersion = rv
	}
	return controlloop.Event[T]{Type: typ, Object: out, ResourceVersion: rv}, true
}
