package shard

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/memstore"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestFencing is issue 15's test 3: a member frozen in the middle of a
// reconcile keeps its token while its lease runs out and another member
// claims the slot; the frozen reconcile's writes, made when it resumes,
// are refused with ErrFenced and leave the store unchanged, and the member
// counts them.
func TestFencing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, stop := context.WithCancel(context.Background())
		defer stop()
		mem, err := NewMemory(MemoryOptions{TTL: testTTL})
		if err != nil {
			t.Fatal(err)
		}
		store, err := memstore.New[*item](memstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		key := controlloop.Key{Namespace: "ns", Name: "parent"}
		parent, err := store.Create(ctx, &item{ObjectMeta: controlloop.ObjectMeta{Namespace: key.Namespace, Name: key.Name}, Spec: 1})
		if err != nil {
			t.Fatal(err)
		}
		fenced := FencedStore(store, mem)

		member := func(id string) (*Member, chan struct{}) {
			m, err := New(mem, Options{Ring: testRing, ID: id, Slots: testSlots, Window: testWindow, Logger: quiet, Registerer: prometheus.NewRegistry()})
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				if err := m.Run(ctx); err != nil {
					t.Errorf("%s: Run: %v", id, err)
				}
			}()
			return m, done
		}
		a, aDone := member("a")
		time.Sleep(testWindow + time.Second)
		if got := len(a.Owned()); got != testSlots {
			t.Fatalf("a alone owns %d slots, want %d", got, testSlots)
		}
		// a's worker takes the key, as its controller would; then a freezes.
		rctx, end, ok := a.Begin(ctx, key)
		if !ok {
			t.Fatal("a does not admit a key of a slot it owns")
		}
		defer end()
		tok, _ := TokenFrom(rctx)
		mem.Freeze(testRing, "a")
		b, bDone := member("b")
		time.Sleep(testTTL + testWindow + time.Second)
		if got := len(b.Owned()); got != testSlots {
			t.Fatalf("after a's lease ended, b owns %d slots, want %d", got, testSlots)
		}
		if cur := mem.View(testRing).Claims[tok.Slot]; cur.Owner != "b" || cur.Epoch <= tok.Epoch {
			t.Fatalf("slot %d is claimed %+v; want b, epoch above a's %d", tok.Slot, cur, tok.Epoch)
		}

		// a resumes and writes what it decided before it froze. Its
		// context was cancelled when the claim ended; a reconcile that
		// ignores that still carries the token, and only the fence stops it.
		if rctx.Err() == nil {
			t.Error("the reconcile's context outlived its claim")
		}
		rctx = context.WithoutCancel(rctx)
		mem.Thaw(testRing, "a")
		before := store.ResourceVersion()
		child := &item{ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: "child"}}
		if _, err := fenced.Create(rctx, child); !errors.Is(err, ErrFenced) {
			t.Errorf("a's leftover Create: err %v, want ErrFenced", err)
		}
		next := *parent
		next.Seen = 1
		if _, err := fenced.UpdateStatus(rctx, &next); !errors.Is(err, ErrFenced) {
			t.Errorf("a's leftover UpdateStatus: err %v, want ErrFenced", err)
		}
		if err := fenced.Delete(rctx, key, controlloop.DeleteOptions{}); !errors.Is(err, ErrFenced) {
			t.Errorf("a's leftover Delete: err %v, want ErrFenced", err)
		}
		if got := store.ResourceVersion(); got != before {
			t.Errorf("the store moved from version %s to %s under refused writes", before, got)
		}
		if got, err := store.Get(ctx, key); err != nil || got.Seen != 0 {
			t.Errorf("parent after refused writes: %+v, %v; want it unchanged", got, err)
		}
		if got := testutilFenced(a); got != 3 {
			t.Errorf("a counted %v fenced writes, want 3", got)
		}

		// b's reconcile, under the current claim, writes.
		bctx, bend, ok := b.Begin(ctx, key)
		if !ok {
			t.Fatal("b does not admit the key")
		}
		if _, err := fenced.UpdateStatus(bctx, &next); err != nil {
			t.Errorf("b's write under the current claim: %v", err)
		}
		bend()
		// A write with no token is refused too: a fenced client never
		// writes unfenced.
		if _, err := fenced.Create(ctx, child); !errors.Is(err, ErrFenced) {
			t.Errorf("Create without a token: err %v, want ErrFenced", err)
		}
		stop()
		<-aDone
		<-bDone
	})
}

// TestFencingComparesEpochNotLease: a claim released and made again by
// the same session has a new epoch, and a write under the old one is
// refused, which comparing the lease alone would let through.
func TestFencingComparesEpochNotLease(t *testing.T) {
	ctx := context.Background()
	mem, err := NewMemory(MemoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	store, err := memstore.New[*item](memstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := mem.Join(ctx, testRing, "a", testSlots)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close(ctx)
	first, err := sess.Claim(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sess.Claim(ctx, 7); !errors.Is(err, ErrClaimed) {
		t.Fatalf("second claim of a held slot: %v, want ErrClaimed", err)
	}
	if err := sess.Release(ctx, 7, first); err != nil {
		t.Fatal(err)
	}
	second, err := sess.Claim(ctx, 7)
	if err != nil || second <= first {
		t.Fatalf("claim again: epoch %d, %v; want above %d", second, err, first)
	}
	fenced := FencedStore(store, mem)
	obj := func(name string) *item { return &item{ObjectMeta: controlloop.ObjectMeta{Name: name}} }
	if _, err := fenced.Create(WithToken(ctx, Token{Ring: testRing, Member: "a", Slot: 7, Epoch: first}), obj("old")); !errors.Is(err, ErrFenced) {
		t.Errorf("write under the earlier epoch of the same lease: %v, want ErrFenced", err)
	}
	if _, err := fenced.Create(WithToken(ctx, Token{Ring: testRing, Member: "a", Slot: 7, Epoch: second}), obj("new")); err != nil {
		t.Errorf("write under the current epoch: %v", err)
	}
	// Release compares the epoch: the old one deletes nothing.
	if err := sess.Release(ctx, 7, first); err != nil {
		t.Fatal(err)
	}
	if got := mem.View(testRing).Claims[7]; got.Epoch != second {
		t.Errorf("a release under the old epoch changed the claim to %+v", got)
	}
}

// testutilFenced returns m's fenced_writes_total, or -1 without metrics.
func testutilFenced(m *Member) float64 {
	if m.metrics == nil {
		return -1
	}
	return testutil.ToFloat64(m.metrics.fenced)
}
