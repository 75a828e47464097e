package reflector

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/controlloop/controlloop"
)

// watch watches from the last version and applies events until the watch
// ends. It returns a nil error when the watch ended cleanly after delivering
// at least one event (or ctx ended), relist true when the store needs a
// full list: after a store error, an expired version, or a Watch call that
// failed (see the package documentation's Recovery), and applied true if it
// applied an event.
func (r *Reflector[T]) watch(ctx context.Context, resync <-chan time.Time) (relist, applied bool, err error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	from := r.LastSyncResourceVersion()
	ch, err := r.lw.Watch(wctx, controlloop.WatchOptions{
		Selector:        r.opts.Selector,
		ResourceVersion: from,
		AllowBookmarks:  true,
	})
	// A Watch call that fails may refuse the version itself (one an event
	// carried, malformed or gone): watching from it again could fail
	// forever, so list again.
	if err != nil {
		return true, false, fmt.Errorf("%w: from version %s: %w", ErrWatch, from, err)
	}
	if ch == nil {
		return true, false, fmt.Errorf("%w: Watch from %s returned neither a channel nor an error", ErrBadEvent, from)
	}
	defer func() {
		// Let the source see the cancellation and close the channel, so that
		// none of its goroutines is left blocked on a send to us.
		cancel()
		for range ch {
		}
	}()

	// After a failure, a watch that stays open for BackoffReset counts as
	// up, though the source may send nothing: a quiet source is healthy.
	var up <-chan time.Time
	if r.failing() {
		t := time.NewTimer(r.opts.BackoffReset)
		defer t.Stop()
		up = t.C
	}

	events, applied := 0, false
	for {
		select {
		case <-ctx.Done():
			return false, applied, nil
		case <-up:
			r.recovered()
		case <-resync:
			if err := r.sink.Resync(); err != nil {
				return true, applied, fmt.Errorf("%w: resync: %w", ErrStore, err)
			}
		case ev, ok := <-ch:
			if !ok {
				if events == 0 {
					return false, false, fmt.Errorf("%w (from version %s)", ErrShortWatch, from)
				}
				r.log.Debug("reflector: watch closed, watching again", "resourceVersion", r.LastSyncResourceVersion(), "events", events)
				return false, applied, nil
			}
			events++
			relist, err := r.apply(ev)
			if err != nil {
				return relist, applied, err
			}
			applied = true
		}
	}
}

// apply hands one event to the store and records its version.
func (r *Reflector[T]) apply(ev controlloop.Event[T]) (relist bool, err error) {
	var op string
	switch ev.Type {
	case controlloop.Error:
		return errors.Is(ev.Err, controlloop.ErrExpired), fmt.Errorf("%w: %w", ErrWatch, ev.Err)
	case controlloop.Bookmark:
	case controlloop.Added, controlloop.Modified, controlloop.Deleted:
		if controlloop.IsNil(ev.Object) {
			return false, fmt.Errorf("%w: %v event at version %s without an object", ErrBadEvent, ev.Type, ev.ResourceVersion)
		}
		switch ev.Type {
		case controlloop.Added:
			op, err = "add", r.sink.Add(ev.Object)
		case controlloop.Modified:
			op, err = "update", r.sink.Update(ev.Object)
		default:
			op, err = "delete", r.sink.Delete(ev.Object)
		}
		if err != nil {
			return true, fmt.Errorf("%w: %s %v: %w", ErrStore, op, controlloop.KeyOf(ev.Object), err)
		}
	default:
		return false, fmt.Errorf("%w: unknown event type %v", ErrBadEvent, ev.Type)
	}
	rv := ev.ResourceVersion
	if rv == "" && ev.Type != controlloop.Bookmark {
		rv = ev.Object.GetResourceVersion()
	}
	r.progressed(rv)
	return false, nil
}
