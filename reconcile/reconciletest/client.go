package reconciletest

import (
	"context"
	"fmt"

	"github.com/controlloop/controlloop"
)

// Client is the system's way to a [Store]: a [controlloop.Client] and a
// [controlloop.ListerWatcher] whose versions are the store's (it
// implements [controlloop.VersionComparer], so stale-cache gating and
// WaitUntilReconciled work through it). Through it the kit injects the
// store's write faults (ConflictWrites, FailWrites, LoseReplies) and
// event faults (DelayEvents, DuplicateEvents), records each write and
// event in the World's trace, and checks the World's Always invariant
// after each write. Its methods are safe for concurrent use.
type Client[T controlloop.Object] struct {
	s *Store[T]
}

var (
	_ controlloop.Client[*controlloop.ObjectMeta]        = (*Client[*controlloop.ObjectMeta])(nil)
	_ controlloop.ListerWatcher[*controlloop.ObjectMeta] = (*Client[*controlloop.ObjectMeta])(nil)
	_ controlloop.VersionComparer                        = (*Client[*controlloop.ObjectMeta])(nil)
)

// List lists the store's objects; memstore's FailNextList and
// SetUnavailable apply.
func (c *Client[T]) List(ctx context.Context, opts controlloop.ListOptions) (controlloop.ListResult[T], error) {
	return c.s.Store.List(ctx, opts)
}

// Get reads one object from the store.
func (c *Client[T]) Get(ctx context.Context, key controlloop.Key) (T, error) {
	return c.s.Store.Get(ctx, key)
}

// Create creates obj, unless a fault says otherwise.
func (c *Client[T]) Create(ctx context.Context, obj T) (T, error) {
	return c.write(ctx, "create", obj, false, c.s.Store.Create)
}

// Update updates obj, unless a fault says otherwise.
func (c *Client[T]) Update(ctx context.Context, obj T) (T, error) {
	return c.write(ctx, "update", obj, true, c.s.Store.Update)
}

// UpdateStatus updates obj's status, unless a fault says otherwise.
func (c *Client[T]) UpdateStatus(ctx context.Context, obj T) (T, error) {
	return c.write(ctx, "update status", obj, true, c.s.Store.UpdateStatus)
}

// Delete deletes the object with key, unless a fault says otherwise.
func (c *Client[T]) Delete(ctx context.Context, key controlloop.Key, opts controlloop.DeleteOptions) error {
	_, err := c.do("delete", key, opts.ResourceVersion != "", func() (string, error) {
		return "", c.s.Store.Delete(ctx, key, opts)
	})
	return err
}

// VersionScope returns the store's version scope.
func (c *Client[T]) VersionScope() string { return c.s.Store.VersionScope() }

// CompareVersions compares two of the store's versions.
func (c *Client[T]) CompareVersions(a, b string) (int, error) {
	return c.s.Store.CompareVersions(a, b)
}

func (c *Client[T]) write(ctx context.Context, op string, obj T, conflicts bool, f func(context.Context, T) (T, error)) (T, error) {
	var out T
	_, err := c.do(op, controlloop.KeyOf(obj), conflicts, func() (string, error) {
		var err error
		out, err = f(ctx, obj)
		if err != nil {
			return "", err
		}
		return out.GetResourceVersion(), nil
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return out, nil
}

// do makes one write, op of key, with the store's faults: a conflict (if
// the write can conflict), a failure, or a lost reply. It records the
// write and checks the World's Always invariant after it.
func (c *Client[T]) do(op string, key controlloop.Key, canConflict bool, write func() (version string, err error)) (string, error) {
	s := c.s
	var err error
	switch {
	case canConflict && s.take(&s.conflicts):
		err = fmt.Errorf("%w: %s %s %s: %w", ErrInjected, s.name, op, key, controlloop.ErrConflict)
	case s.take(&s.failures):
		err = fmt.Errorf("%w: %s %s %s failed", ErrInjected, s.name, op, key)
	}
	if err != nil {
		s.w.trace.add("write %s: %s %s: %v", s.name, op, key, err)
		return "", err
	}
	version, err := write()
	done := "done"
	if version != "" {
		done = "v" + version
	}
	switch {
	case err != nil:
		s.w.trace.add("write %s: %s %s: %v", s.name, op, key, err)
	case s.take(&s.lost):
		s.w.trace.add("write %s: %s %s -> %s, reply lost", s.name, op, key, done)
		err = fmt.Errorf("%w: %s %s %s: the reply was lost (the write was made)", ErrInjected, s.name, op, key)
		version = ""
	default:
		s.w.trace.add("write %s: %s %s -> %s", s.name, op, key, done)
	}
	s.w.checkAlways(fmt.Sprintf("after %s %s %s", s.name, op, key))
	return version, err
}

// Watch watches the store. Events pass through the store's event faults:
// a delay holds them (in order), a duplicate sends one twice.
func (c *Client[T]) Watch(ctx context.Context, opts controlloop.WatchOptions) (<-chan controlloop.Event[T], error) {
	in, err := c.s.Store.Watch(ctx, opts)
	if err != nil {
		return nil, err
	}
	out := make(chan controlloop.Event[T])
	go c.forward(ctx, in, out)
	return out, nil
}

// forward copies in to out through the store's event faults, until in
// closes or ctx ends; it closes out.
func (c *Client[T]) forward(ctx context.Context, in <-chan controlloop.Event[T], out chan<- controlloop.Event[T]) {
	defer close(out)
	defer func() {
		for range in { // let the store's watcher finish
		}
	}()
	s := c.s
	send := func(ev controlloop.Event[T]) bool {
		select {
		case out <- ev:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for ev := range in {
		if !s.waitHold(ctx) {
			return
		}
		if ev.Type == controlloop.Bookmark || ev.Type == controlloop.Error {
			if !send(ev) {
				return
			}
			continue
		}
		s.w.trace.add("event %s: %v %s v%s", s.name, ev.Type, controlloop.KeyOf(ev.Object), ev.ResourceVersion)
		if !send(ev) {
			return
		}
		if s.take(&s.duplicates) {
			s.w.trace.add("event %s: %v %s v%s (duplicate)", s.name, ev.Type, controlloop.KeyOf(ev.Object), ev.ResourceVersion)
			if !send(ev) {
				return
			}
		}
	}
}
