package etcd

import (
	"context"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Fenced returns a view of s whose writes commit only while e leads. Each
// Create, Update, UpdateStatus and Delete is one transaction that also
// compares the create revision of the election key of e's term: if the term
// is over, etcd refuses the write and it fails with [ErrNotLeader], even if
// e has not noticed yet (a deposed leader learns of it late).
//
// The term is the one the write's context carries, if that context derives
// from a lead context returned by e.Lead (a reconcile running under it);
// otherwise e's current term. A write with neither fails with ErrNotLeader
// without reaching etcd. Reads and watches are not fenced.
//
// Fenced of a nil Source is nil. A Source fenced by a nil or zero Elector
// refuses every write with an error wrapping [controlloop.ErrInvalid]: it
// never writes unfenced.
func (s *Source[T]) Fenced(e *Elector) *Source[T] {
	if s == nil {
		return nil
	}
	c := *s
	c.fenced, c.fence = true, electorFence{e}
	return &c
}

// electorFence fences writes by an election term (see Source.Fenced).
type electorFence struct{ e *Elector }

func (f electorFence) condition(ctx context.Context) (clientv3.Cmp, func() error, error) {
	cmp, desc, err := f.e.condition(ctx)
	return cmp, func() error { return fmt.Errorf("%w: %s", ErrNotLeader, desc) }, err
}
