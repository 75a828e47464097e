package memstore

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/controlloop/controlloop"
)

// Watch streams the changes opts selects, starting strictly after
// opts.ResourceVersion ("from now" if empty), in order, with no gap and no
// duplicate: first the changes the history holds, then live ones. A version
// older than the history window, or compacted away, fails with
// [controlloop.ErrExpired]; a version newer than the store's is accepted,
// and the watch starts once the store reaches it.
//
// Under a selector, a change that brings an object into the selector is
// reported as Added, one that takes it out as Deleted (carrying the state
// before the change, stamped with the change's version), like an API server
// does.
//
// The channel closes when ctx is done, after [Store.BreakWatches], when the
// consumer falls more than Options.WatchBuffer changes behind, or after an
// Error event ([Store.FailWatches], or [Store.Compact] discarding changes
// the watch had yet to deliver). Each watch runs one goroutine, which exits
// once the channel is closed.
func (s *Store[T]) Watch(ctx context.Context, opts controlloop.WatchOptions) (<-chan controlloop.Event[T], error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
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
		liveFrom: s.rv + 1,
	}
	w.next.Store(from + 1)
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

// watcher is one open watch. Its goroutine walks the history from a cursor
// and sends what its selector lets through; writers only nudge it.
type watcher[T controlloop.Object] struct {
	sel      controlloop.Selector
	matchAll bool // sel is the zero Selector
	ch       chan controlloop.Event[T]
	// wake holds a nudge from a writer: there may be changes to read.
	wake chan struct{}
	// next is the version of the next change to deliver. The goroutine
	// stores it, writers load it to measure how far behind it is.
	next atomic.Uint64
	// liveFrom is the store's version when the watch began, plus one:
	// changes from it on count against Options.WatchBuffer.
	liveFrom uint64

	// stop is closed, and stopErr set, under the store's lock by whoever
	// ends the watch from outside. Guarded by that lock: stopped, stopErr.
	stop    chan struct{}
	stopped bool
	stopErr error
}

// lockedNudge tells w about the change with version rv, the oldest held
// being oldest, and ends w if it fell too far behind to catch up.
func (w *watcher[T]) lockedNudge(s *Store[T], rv, oldest uint64) {
	next := w.next.Load()
	behind := uint64(0)
	if base := max(next, w.liveFrom); rv >= base {
		behind = rv - base + 1
	}
	if next < oldest || behind > uint64(s.opts.WatchBuffer) {
		s.lockedEndWatch(w, nil)
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
			if ev, ok := w.convert(s, c); ok {
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
			w.next.Store(c.rv + 1)
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
			if at := w.next.Load() - 1; at > sent {
				select {
				case w.ch <- controlloop.Event[T]{Type: controlloop.Bookmark, ResourceVersion: formatRV(at)}:
					sent = at
				case <-ctx.Done():
					return
				case <-w.stop:
					w.sendStopError(ctx, s)
					return
				}
			}
		}
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
	out := s.clone(obj)
	if typ == controlloop.Deleted && c.typ == controlloop.Modified {
		out.GetObjectMeta().ResourceVersion = rv
	}
	return controlloop.Event[T]{Type: typ, Object: out, ResourceVersion: rv}, true
}
