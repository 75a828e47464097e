package memstore

import (
	"context"

	"github.com/controlloop/controlloop"
)

// A Guard makes a write conditional on state outside the store, as the
// comparisons of an etcd transaction do: package shard fences writes with
// the epoch of a slot's claim this way. A write through [Store.Guarded]
// calls its Guard once the write has passed the store's own checks, with
// the store's lock held; the write commits if and only if the Guard calls
// commit (a second call does nothing). A Guard that does not call commit
// returns the error the write fails with; one that did returns nil (an
// error after commit is ignored: the write is in).
//
// Since the check and the commit happen under the Guard's own lock, if it
// takes one, and under the store's lock, no other write to the store and no
// change the Guard guards against comes between them. A Guard must not
// call the store.
type Guard func(ctx context.Context, commit func()) error

// Guarded returns a client over s whose Create, Update, UpdateStatus and
// Delete commit only as g allows (see [Guard]). Reads and watches are not
// guarded. A nil g guards nothing.
func (s *Store[T]) Guarded(g Guard) controlloop.Client[T] {
	return &guarded[T]{Store: s, g: g}
}

// guarded is the client Guarded returns: the store's reads, and its writes
// with the guard.
type guarded[T controlloop.Object] struct {
	*Store[T]
	g Guard
}

func (c *guarded[T]) Create(ctx context.Context, obj T) (T, error) {
	return c.create(ctx, obj, c.g)
}

func (c *guarded[T]) Update(ctx context.Context, obj T) (T, error) {
	return c.update(ctx, "update", obj, true, c.g)
}

func (c *guarded[T]) UpdateStatus(ctx context.Context, obj T) (T, error) {
	return c.update(ctx, "update status", obj, false, c.g)
}

func (c *guarded[T]) Delete(ctx context.Context, key controlloop.Key, opts controlloop.DeleteOptions) error {
	return c.delete(ctx, key, opts, c.g)
}

// lockedCommitGuarded commits c as lockedCommit does, if g (when not nil)
// lets it.
func (s *Store[T]) lockedCommitGuarded(ctx context.Context, g Guard, c change[T], key controlloop.Key) error {
	if g == nil {
		s.lockedCommit(c, key)
		return nil
	}
	committed := false
	err := g(ctx, func() {
		if !committed {
			committed = true
			s.lockedCommit(c, key)
		}
	})
	if err != nil && committed {
		// The write is in: report it as done, as etcd reports a committed
		// transaction whatever happens after it.
		return nil
	}
	return err
}
