package shard

import (
	"context"
	"fmt"
)

// Token is the fencing token of a reconcile that a [Member] began: the
// claim its slot was held under when it started. Fenced clients
// ([FencedStore], the etcd module's sharded writes) compare it with the
// slot's current claim in the same transaction as each write.
type Token struct {
	Ring   string
	Member string
	Slot   int
	// Epoch is the claim's epoch: its creation revision.
	Epoch int64

	// lost, if set, tells the member that a write under the token was
	// refused.
	lost func()
}

type tokenKey struct{}

// WithToken returns a copy of ctx that carries t, for writes made outside
// a [Member]'s reconciles (tests, tools) under a claim known otherwise.
func WithToken(ctx context.Context, t Token) context.Context {
	return context.WithValue(ctx, tokenKey{}, t)
}

// TokenFrom returns the token ctx carries, if any: every reconcile a
// [Member] admitted runs under one.
func TokenFrom(ctx context.Context) (Token, bool) {
	t, ok := ctx.Value(tokenKey{}).(Token)
	return t, ok
}

// Refused reports that a write under t was refused by its fence: it tells
// the member that began the reconcile, which counts the slot as lost, and
// returns the error the write fails with, wrapping [ErrFenced].
// Implementations of fenced clients call it; others need not.
func (t Token) Refused() error {
	if t.lost != nil {
		t.lost()
	}
	return fmt.Errorf("%w (ring %s, slot %d, epoch %d of %s)", ErrFenced, t.Ring, t.Slot, t.Epoch, t.Member)
}
