package deltafifo_test

// Behaviours of client-go's tools/cache/delta_fifo_test.go (v0.37), written
// again against this API. Each test names the client-go test it covers.

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"

	"github.com/controlloop/controlloop/deltafifo"
	"github.com/google/go-cmp/cmp"
)

type deltas = deltafifo.Deltas[*obj]

const (
	added    = deltafifo.Added
	updated  = deltafifo.Updated
	deleted  = deltafifo.Deleted
	replaced = deltafifo.Replaced
	synced   = deltafifo.Sync
)

func popAll(t *testing.T, f *deltafifo.FIFO[*obj]) []deltas {
	t.Helper()
	var out []deltas
	for f.Len() > 0 {
		got, _ := pop(t, f)
		out = append(out, got)
	}
	return out
}

func wantPops(t *testing.T, f *deltafifo.FIFO[*obj], want ...deltas) {
	t.Helper()
	if diff := cmp.Diff(want, popAll(t, f)); diff != "" {
		t.Errorf("popped deltas (-want +got):\n%s", diff)
	}
	if n := f.Slots(); n != 0 {
		t.Errorf("%d keys left after popping everything", n)
	}
}

// TestDeltaFIFO_basic: two concurrent producers; each one's objects come
// out in the order it added them.
func TestConcurrentProducersKeepOrder(t *testing.T) {
	f := newFIFO(t, deltafifo.Options[*obj]{})
	const amount = 500
	for _, p := range []string{"a", "b"} {
		go func() {
			for i := range amount {
				_ = f.Add(mk(fmt.Sprintf("%s%d", p, i), i+1))
			}
		}()
	}
	last := map[byte]int{}
	for range 2 * amount {
		err := f.Pop(context.Background(), func(ds deltas, _ bool) error {
			o := ds.Newest().Object
			if o.Val <= last[o.Name[0]] {
				t.Errorf("got %v out of order, last was %d", o, last[o.Name[0]])
			}
			last[o.Name[0]] = o.Val
			return nil
		})
		must(t, err)
	}
}

// TestDeltaFIFO_replaceWithDeleteDeltaIn: Replace after Delete still queues
// the Sync, so an informer sees the object come back (kubernetes#83810).
func TestReplaceAfterDeleteQueuesSync(t *testing.T) {
	oldObj, newObj := mk("foo", 1), mk("foo", 2)
	f := newFIFO(t, deltafifo.Options[*obj]{KnownObjects: literal{oldObj}})
	must(t, f.Delete(oldObj))
	must(t, f.Replace([]*obj{newObj}, ""))
	wantPops(t, f, deltas{d(deleted, oldObj), d(synced, newObj)})
}

// TestDeltaFIFOW_ReplaceMakesDeletionsForObjectsOnlyInQueue: objects that
// only the queue holds get one inferred deletion, with or without
// KnownObjects.
func TestReplaceDeletesObjectsOnlyInQueue(t *testing.T) {
	o, o2 := mk("foo", 2), mk("foo", 3)
	for _, tc := range []struct {
		name     string
		replaced bool
		ops      func(f *deltafifo.FIFO[*obj])
		want     deltas
	}{
		{"added then relisted without it", false, func(f *deltafifo.FIFO[*obj]) {
			_ = f.Add(o)
			_ = f.Replace(nil, "0")
		}, deltas{d(added, o), tomb(o)}},
		{"replaced then relisted without it", true, func(f *deltafifo.FIFO[*obj]) {
			_ = f.Add(o)
			_ = f.Replace([]*obj{o}, "0")
			_ = f.Replace(nil, "0")
		}, deltas{d(added, o), d(replaced, o), tomb(o)}},
		{"deleted keeps its real deletion", false, func(f *deltafifo.FIFO[*obj]) {
			_ = f.Add(o)
			_ = f.Delete(o)
			_ = f.Replace(nil, "0")
		}, deltas{d(added, o), d(deleted, o)}},
		{"synced twice then relisted without it", false, func(f *deltafifo.FIFO[*obj]) {
			_ = f.Add(o)
			_ = f.Replace([]*obj{o}, "0")
			_ = f.Replace([]*obj{o}, "0")
			_ = f.Replace(nil, "0")
		}, deltas{d(added, o), d(synced, o), d(synced, o), tomb(o)}},
		{"one deletion over several relists", false, func(f *deltafifo.FIFO[*obj]) {
			_ = f.Add(o)
			_ = f.Replace(nil, "0")
			_ = f.Replace(nil, "1")
		}, deltas{d(added, o), tomb(o)}},
		{"added, deleted, added again", false, func(f *deltafifo.FIFO[*obj]) {
			_ = f.Add(o)
			_ = f.Delete(o)
			_ = f.Add(o2)
			_ = f.Replace(nil, "0")
		}, deltas{d(added, o), d(deleted, o), d(added, o2), tomb(o2)}},
	} {
		for _, known := range []deltafifo.KnownObjects[*obj]{nil, literal{}} {
			t.Run(fmt.Sprintf("%s/known=%v", tc.name, known != nil), func(t *testing.T) {
				f := newFIFO(t, deltafifo.Options[*obj]{KnownObjects: known, EmitReplaced: tc.replaced})
				tc.ops(f)
				wantPops(t, f, tc.want)
			})
		}
	}
}

// TestDeltaFIFO_addUpdate: one key accumulates its deltas in one slot.
func TestDeltasAccumulateInOneSlot(t *testing.T) {
	f := newFIFO(t, deltafifo.Options[*obj]{})
	must(t, f.Add(mk("foo", 10)))
	must(t, f.Update(mk("foo", 12)))
	must(t, f.Delete(mk("foo", 15)))
	if f.Len() != 1 {
		t.Fatalf("Len = %d, want 1", f.Len())
	}
	wantPops(t, f, deltas{d(added, mk("foo", 10)), d(updated, mk("foo", 12)), d(deleted, mk("foo", 15))})
}

// TestDeltaFIFO_transformer: each object is transformed once; inferred
// deletions carry the transformed object and are not transformed again.
func TestTransformAppliedOnce(t *testing.T) {
	count := map[*obj]int{}
	f := newFIFO(t, deltafifo.Options[*obj]{Transform: func(o *obj) (*obj, error) {
		count[o]++
		return o, nil
	}})
	foo10, bar11, foo12, foo15, bar16 := mk("foo", 10), mk("bar", 11), mk("foo", 12), mk("foo", 15), mk("bar", 16)
	must(t, f.Add(foo10))
	must(t, f.Add(bar11))
	must(t, f.Update(foo12))
	must(t, f.Delete(foo15))
	must(t, f.Replace(nil, ""))
	must(t, f.Add(bar16))
	must(t, f.Replace(nil, ""))
	wantPops(t, f,
		deltas{d(added, foo10), d(updated, foo12), d(deleted, foo15)},
		deltas{d(added, bar11), tomb(bar11), d(added, bar16), tomb(bar16)},
	)
	for o, n := range count {
		if n != 1 {
			t.Errorf("%v transformed %d times", o, n)
		}
	}
	bad := newFIFO(t, deltafifo.Options[*obj]{Transform: func(o *obj) (*obj, error) {
		if o.Val < 0 {
			return nil, errors.New("negative")
		}
		return mk("other", o.Val), nil
	}})
	if err := bad.Add(mk("x", -1)); err == nil || bad.Len() != 0 {
		t.Errorf("failing transform: err = %v, Len = %d", err, bad.Len())
	}
	if err := bad.Replace([]*obj{mk("x", 1)}, ""); err == nil || bad.Len() != 0 {
		t.Errorf("key-changing transform: err = %v, Len = %d", err, bad.Len())
	}
}

// TestDeltaFIFO_enqueueingNoLister: without KnownObjects, Delete of a key
// the FIFO does not hold is a no-op.
func TestDeleteUnknownIsNoOp(t *testing.T) {
	f := newFIFO(t, deltafifo.Options[*obj]{})
	must(t, f.Add(mk("foo", 10)))
	must(t, f.Update(mk("bar", 15)))
	must(t, f.Add(mk("qux", 17)))
	must(t, f.Delete(mk("qux", 18)))
	must(t, f.Delete(mk("baz", 20)))
	var got []int
	for _, ds := range popAll(t, f) {
		got = append(got, ds.Newest().Object.Val)
	}
	if diff := cmp.Diff([]int{10, 15, 18}, got); diff != "" {
		t.Errorf("newest values (-want +got):\n%s", diff)
	}
}

// TestDeltaFIFO_enqueueingWithLister: Delete of a key only KnownObjects
// holds is queued.
func TestDeleteOfKnownObjectQueues(t *testing.T) {
	f := newFIFO(t, deltafifo.Options[*obj]{KnownObjects: literal{mk("foo", 5), mk("bar", 6), mk("baz", 7)}})
	must(t, f.Add(mk("foo", 10)))
	must(t, f.Update(mk("bar", 15)))
	must(t, f.Delete(mk("baz", 20)))
	wantPops(t, f, deltas{d(added, mk("foo", 10))}, deltas{d(updated, mk("bar", 15))}, deltas{d(deleted, mk("baz", 20))})
}

// TestDeltaFIFO_addReplace: a Replace joins the queued key's deltas, and
// the key is popped once.
func TestAddThenReplace(t *testing.T) {
	f := newFIFO(t, deltafifo.Options[*obj]{})
	must(t, f.Add(mk("foo", 10)))
	must(t, f.Replace([]*obj{mk("foo", 15)}, "0"))
	wantPops(t, f, deltas{d(added, mk("foo", 10)), d(synced, mk("foo", 15))})
}

// TestDeltaFIFO_ResyncNonExisting and TestDeltaFIFO_UpdateResyncRace:
// Resync skips keys with queued deltas.
func TestResyncSkipsQueuedKeys(t *testing.T) {
	f := newFIFO(t, deltafifo.Options[*obj]{KnownObjects: literal{mk("foo", 5)}})
	must(t, f.Delete(mk("foo", 10)))
	must(t, f.Resync())
	wantPops(t, f, deltas{d(deleted, mk("foo", 10))})

	f = newFIFO(t, deltafifo.Options[*obj]{KnownObjects: literal{mk("foo", 5)}})
	must(t, f.Update(mk("foo", 6)))
	must(t, f.Resync())
	wantPops(t, f, deltas{d(updated, mk("foo", 6))})
}

// TestDeltaFIFO_Resync: Resync queues a Sync of each known object; without
// KnownObjects it does nothing.
func TestResyncQueuesSync(t *testing.T) {
	f := newFIFO(t, deltafifo.Options[*obj]{KnownObjects: literal{mk("foo", 5)}})
	must(t, f.Resync())
	wantPops(t, f, deltas{d(synced, mk("foo", 5))})
	f = newFIFO(t, deltafifo.Options[*obj]{})
	must(t, f.Resync())
	if f.Len() != 0 {
		t.Errorf("Resync without KnownObjects queued %d keys", f.Len())
	}
}

// TestDeltaFIFO_DeleteExistingNonPropagated: a Delete of a key that only
// the queue holds is queued.
func TestDeleteOfQueuedKeyQueues(t *testing.T) {
	f := newFIFO(t, deltafifo.Options[*obj]{KnownObjects: literal{}})
	must(t, f.Add(mk("foo", 5)))
	must(t, f.Delete(mk("foo", 6)))
	wantPops(t, f, deltas{d(added, mk("foo", 5)), d(deleted, mk("foo", 6))})
}

// TestDeltaFIFO_ReplaceMakesDeletions, TestDeltaFIFO_ReplaceMakesDeletionsReplaced
// and TestDeltaFIFO_ReplaceDeltaType: the inferred deletions of a relist,
// and the delta type of listed objects.
func TestReplaceMakesDeletions(t *testing.T) {
	known := literal{mk("foo", 5), mk("bar", 6), mk("baz", 7)}
	for _, tc := range []struct {
		name     string
		known    deltafifo.KnownObjects[*obj]
		replaced bool
		ops      func(f *deltafifo.FIFO[*obj])
		want     []deltas
	}{
		{"queued delete is kept, known-only key inferred", known, false, func(f *deltafifo.FIFO[*obj]) {
			_ = f.Delete(mk("baz", 10))
			_ = f.Replace([]*obj{mk("foo", 5)}, "0")
		}, []deltas{{d(deleted, mk("baz", 10))}, {d(synced, mk("foo", 5))}, {tomb(mk("bar", 6))}}},
		{"queued add is deleted with the queued object", known, false, func(f *deltafifo.FIFO[*obj]) {
			_ = f.Add(mk("baz", 10))
			_ = f.Replace([]*obj{mk("foo", 5)}, "0")
		}, []deltas{{d(added, mk("baz", 10)), tomb(mk("baz", 10))}, {d(synced, mk("foo", 5))}, {tomb(mk("bar", 6))}}},
		{"delete then add then relist", known, false, func(f *deltafifo.FIFO[*obj]) {
			_ = f.Delete(mk("bar", 6))
			_ = f.Add(mk("bar", 100))
			_ = f.Replace([]*obj{mk("foo", 5)}, "0")
		}, []deltas{{d(deleted, mk("bar", 6)), d(added, mk("bar", 100)), tomb(mk("bar", 100))}, {d(synced, mk("foo", 5))}, {tomb(mk("baz", 7))}}},
		{"two relists", known, false, func(f *deltafifo.FIFO[*obj]) {
			_ = f.Replace([]*obj{mk("bar", 100), mk("foo", 5)}, "0")
			_ = f.Replace([]*obj{mk("foo", 5)}, "0")
		}, []deltas{{d(synced, mk("bar", 100)), tomb(mk("bar", 100))}, {d(synced, mk("foo", 5)), d(synced, mk("foo", 5))}, {tomb(mk("baz", 7))}}},
		{"no KnownObjects", nil, false, func(f *deltafifo.FIFO[*obj]) {
			_ = f.Add(mk("baz", 10))
			_ = f.Replace([]*obj{mk("foo", 5)}, "0")
		}, []deltas{{d(added, mk("baz", 10)), tomb(mk("baz", 10))}, {d(synced, mk("foo", 5))}}},
		{"EmitReplaced", known, true, func(f *deltafifo.FIFO[*obj]) {
			_ = f.Delete(mk("baz", 10))
			_ = f.Replace([]*obj{mk("foo", 6)}, "0")
		}, []deltas{{d(deleted, mk("baz", 10))}, {d(replaced, mk("foo", 6))}, {tomb(mk("bar", 6))}}},
		{"EmitReplaced, listed only", literal{mk("foo", 5)}, true, func(f *deltafifo.FIFO[*obj]) {
			_ = f.Replace([]*obj{mk("foo", 5)}, "0")
		}, []deltas{{d(replaced, mk("foo", 5))}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFIFO(t, deltafifo.Options[*obj]{KnownObjects: tc.known, EmitReplaced: tc.replaced})
			tc.ops(f)
			wantPops(t, f, tc.want...)
		})
	}
}

// TestDeltaFIFO_HasSyncedCorrectOnDeletion: inferred deletions of the first
// Replace belong to the initial list.
func TestHasSyncedCountsInferredDeletions(t *testing.T) {
	f := newFIFO(t, deltafifo.Options[*obj]{KnownObjects: literal{mk("foo", 5), mk("bar", 6), mk("baz", 7)}})
	must(t, f.Replace([]*obj{mk("foo", 5)}, "0"))
	for _, want := range []deltas{{d(synced, mk("foo", 5))}, {tomb(mk("bar", 6))}, {tomb(mk("baz", 7))}} {
		if f.HasSynced() {
			t.Fatal("HasSynced before the initial list was popped")
		}
		got, initial := pop(t, f)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("popped (-want +got):\n%s", diff)
		}
		if !initial {
			t.Error("item of the initial list not marked so")
		}
	}
	if !f.HasSynced() {
		t.Fatal("not HasSynced after the initial list was popped")
	}
	select {
	case <-f.Synced():
	default:
		t.Fatal("Synced not closed")
	}
}

// TestDeltaFIFO_detectLineJumpers: a queued key keeps its place when it
// gets more deltas.
func TestQueuedKeyKeepsItsPlace(t *testing.T) {
	f := newFIFO(t, deltafifo.Options[*obj]{})
	must(t, f.Add(mk("foo", 10)))
	must(t, f.Add(mk("bar", 1)))
	must(t, f.Add(mk("foo", 11)))
	must(t, f.Add(mk("foo", 13)))
	must(t, f.Add(mk("zab", 30)))
	next := func(want int) {
		t.Helper()
		got, _ := pop(t, f)
		if v := got.Newest().Object.Val; v != want {
			t.Fatalf("popped %d, want %d", v, want)
		}
	}
	next(13)
	must(t, f.Add(mk("foo", 14))) // foo goes to the back, not back to the front
	next(1)
	next(30)
	next(14)
}

// TestDeltaFIFO_HasSynced: the table of when HasSynced turns true.
func TestHasSynced(t *testing.T) {
	type op func(t *testing.T, f *deltafifo.FIFO[*obj])
	add := func(t *testing.T, f *deltafifo.FIFO[*obj]) { must(t, f.Add(mk("a", 1))) }
	replace := func(objs ...*obj) op {
		return func(t *testing.T, f *deltafifo.FIFO[*obj]) { must(t, f.Replace(objs, "0")) }
	}
	popOne := func(t *testing.T, f *deltafifo.FIFO[*obj]) { pop(t, f) }
	for i, tc := range []struct {
		ops  []op
		want bool
	}{
		{nil, false},
		{[]op{add}, true},
		{[]op{replace()}, true},
		{[]op{replace(mk("a", 1), mk("b", 2))}, false},
		{[]op{replace(mk("a", 1), mk("b", 2)), popOne}, false},
		{[]op{replace(mk("a", 1), mk("b", 2)), popOne, popOne}, true},
		{[]op{replace(mk("a", 1), mk("a", 2)), popOne}, true}, // one key listed twice
	} {
		f := newFIFO(t, deltafifo.Options[*obj]{})
		for _, o := range tc.ops {
			o(t, f)
		}
		if got := f.HasSynced(); got != tc.want {
			t.Errorf("case %d: HasSynced = %v, want %v", i, got, tc.want)
		}
	}
}

// TestDeltaFIFO_PopShouldUnblockWhenClosed: Close wakes every blocked Pop.
func TestCloseWakesBlockedPops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFIFO(t, deltafifo.Options[*obj]{KnownObjects: literal{mk("foo", 5)}})
		const jobs = 10
		errs := make(chan error, jobs)
		for range jobs {
			go func() {
				errs <- f.Pop(context.Background(), func(deltas, bool) error { return nil })
			}()
		}
		synctest.Wait() // every Pop is blocked
		if len(errs) != 0 {
			t.Fatal("a Pop returned from an empty FIFO")
		}
		f.Close()
		for range jobs {
			if err := <-errs; !errors.Is(err, deltafifo.ErrClosed) {
				t.Errorf("Pop after Close: err = %v, want ErrClosed", err)
			}
		}
	})
}
