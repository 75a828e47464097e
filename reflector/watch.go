package reflector

import (
	"context"
	"fmt"
	"time"

	"github.com/controlloop/controlloop"
)

// watch watches from the last version and applies events until the watch
// ends. It returns a nil error when the watch ended cleanly after delivering
// at least one event (or ctx ended), and relist true when the store needs a
// full list: after a store error or an expired version.
func (r *Reflector[T]) watch(ctx context.Context, resync <-chan time.Time) (relist bool, err error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	from := r.LastSyncResourceVersion()
	ch, err := r.lw.Watch(wctx, controlloop.WatchOptions{
		Selector:        r.opts.Selector,
		ResourceVersion: from,
		AllowBookmarks:  true,
	})
	if err != nil {
		return false, fmt.Errorf("reflector: watch from %s: %w", from, err)
	}
	if ch == nil {
		return false, fmt.Errorf("%w: Watch from %s returned neither a channel nor an error", ErrBadEvent, from)
	}
	defer func() {
		// Let the source see the cancellation and close the channel, so that
		// none of its goroutines is left blocked on a send to us.
		cancel()
		for range ch {
		}
	}()

	events := 0
	for {
		select {
		case <-ctx.Done():
			return false, nil
		case <-resync:
			if err := r.sink.Resync(); err != nil {
				return true, fmt.Errorf("%w: resync: %w", ErrStore, err)
			}
		case ev, ok := <-ch:
			if !ok {
				if events == 0 {
					return false, fmt.Errorf("watch from %s: %w", from, ErrShortWatch)
				}
				r.log.Debug("reflector: watch closed, watching again", "resourceVersion", r.LastSyncResourceVersion(), "events", events)
				return false, nil
			}
			events++
			if relist, err := r.apply(ev); err != nil {
				return relist, err
			}
		}
	}
}

// apply hands one event to the store and records its version.
func (r *Reflector[T]) apply(ev controlloop.Event[T]) (relist bool, err error) {
	var op string
	switch ev.Type {
	case controlloop.Error:
		return false, fmt.Errorf("reflector: watch: %w", ev.Err)
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
	if rv != "" {
		r.setLastRV(rv)
	}
	return false, nil
}
