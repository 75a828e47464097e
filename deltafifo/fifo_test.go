package deltafifo_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/deltafifo"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestBadInput(t *testing.T) {
	f := newFIFO(t, deltafifo.Options[*obj]{})
	for _, bad := range []*obj{nil, mk("", 1)} {
		for name, write := range map[string]func(*obj) error{
			"Add": f.Add, "Update": f.Update, "Delete": f.Delete,
			"Replace": func(o *obj) error { return f.Replace([]*obj{mk("ok", 1), o}, "") },
		} {
			if err := write(bad); !errors.Is(err, controlloop.ErrInvalid) {
				t.Errorf("%s(%v): err = %v, want ErrInvalid", name, bad, err)
			}
		}
	}
	if f.Len() != 0 || f.HasSynced() {
		t.Errorf("refused writes changed the FIFO: Len %d, HasSynced %v", f.Len(), f.HasSynced())
	}
	var nilIx *literalPtr
	const want = "deltafifo: Options.KnownObjects is a nil *deltafifo_test.literalPtr: must be nil (no known objects) or a usable value"
	if _, err := deltafifo.New(deltafifo.Options[*obj]{KnownObjects: nilIx}); !errors.Is(err, controlloop.ErrInvalid) || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("New with a nil *KnownObjects: err = %v, want %q wrapping ErrInvalid", err, want)
	}
}

// TestZeroFIFO checks that a FIFO not made by New refuses writes and Pop
// with an error instead of panicking.
func TestZeroFIFO(t *testing.T) {
	var f deltafifo.FIFO[*obj]
	for name, err := range map[string]error{
		"Add":     f.Add(mk("a", 1)),
		"Update":  f.Update(mk("a", 1)),
		"Delete":  f.Delete(mk("a", 1)),
		"Replace": f.Replace(nil, ""),
		"Resync":  f.Resync(),
		"Pop":     f.Pop(context.Background(), func(deltas, bool) error { return nil }),
	} {
		if !errors.Is(err, controlloop.ErrInvalid) {
			t.Errorf("%s on a zero FIFO: err = %v, want ErrInvalid", name, err)
		}
	}
	if f.Len() != 0 || f.HasSynced() {
		t.Errorf("zero FIFO: Len %d, HasSynced %v", f.Len(), f.HasSynced())
	}
	f.Close()
}

type literalPtr struct{ literal }

func TestCloseDrainsThenRefuses(t *testing.T) {
	f := newFIFO(t, deltafifo.Options[*obj]{})
	must(t, f.Add(mk("a", 1)))
	must(t, f.Add(mk("b", 2)))
	f.Close()
	f.Close()
	for _, w := range []error{f.Add(mk("c", 3)), f.Update(mk("a", 3)), f.Delete(mk("a", 3)), f.Replace(nil, ""), f.Resync()} {
		if !errors.Is(w, deltafifo.ErrClosed) {
			t.Errorf("write after Close: err = %v, want ErrClosed", w)
		}
	}
	wantPops(t, f, deltas{d(added, mk("a", 1))}, deltas{d(added, mk("b", 2))})
	if err := f.Pop(context.Background(), func(deltas, bool) error { return nil }); !errors.Is(err, deltafifo.ErrClosed) {
		t.Errorf("Pop of a drained, closed FIFO: err = %v", err)
	}
	if err := f.Pop(context.Background(), nil); !errors.Is(err, controlloop.ErrInvalid) {
		t.Errorf("Pop with a nil process: err = %v, want ErrInvalid", err)
	}
}

func TestPopHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFIFO(t, deltafifo.Options[*obj]{})
		ctx, cancel := context.WithCancel(context.Background())
		errs := make(chan error)
		go func() { errs <- f.Pop(ctx, func(deltas, bool) error { return nil }) }()
		synctest.Wait()
		cancel()
		if err := <-errs; !errors.Is(err, context.Canceled) {
			t.Errorf("Pop: err = %v, want context.Canceled", err)
		}
		// A blocked Pop wakes for a new key.
		go func() { errs <- f.Pop(context.Background(), func(deltas, bool) error { return nil }) }()
		synctest.Wait()
		must(t, f.Add(mk("a", 1)))
		if err := <-errs; err != nil {
			t.Errorf("Pop: %v", err)
		}
	})
}

// A failed process requeues its deltas before those that arrived meanwhile,
// at the back of the queue; the initial list is not synced until it
// succeeds.
func TestProcessErrorRequeues(t *testing.T) {
	f := newFIFO(t, deltafifo.Options[*obj]{})
	must(t, f.Replace([]*obj{mk("a", 1), mk("b", 2)}, ""))
	err := f.Pop(context.Background(), func(ds deltas, initial bool) error {
		must(t, f.Update(mk("a", 3))) // arrives while a is processed
		must(t, f.Delete(mk("a", 4)))
		return errFail
	})
	if !errors.Is(err, errFail) {
		t.Fatalf("Pop: err = %v, want the process error", err)
	}
	if f.HasSynced() {
		t.Fatal("HasSynced although a's processing failed")
	}
	got, initial := pop(t, f)
	if diff := cmp.Diff(deltas{d(synced, mk("b", 2))}, got); diff != "" || !initial {
		t.Fatalf("second pop (-want +got):\n%s", diff)
	}
	got, initial = pop(t, f)
	if diff := cmp.Diff(deltas{d(synced, mk("a", 1)), d(updated, mk("a", 3)), d(deleted, mk("a", 4))}, got); diff != "" || !initial {
		t.Fatalf("requeued a (-want +got):\n%s", diff)
	}
	if !f.HasSynced() {
		t.Fatal("not HasSynced after the initial list was processed")
	}
}

// A panicking process requeues like an error, and the panic goes on.
func TestProcessPanicRequeues(t *testing.T) {
	f := newFIFO(t, deltafifo.Options[*obj]{})
	must(t, f.Add(mk("a", 1)))
	func() {
		defer func() {
			if recover() == nil {
				t.Error("panic swallowed")
			}
		}()
		_ = f.Pop(context.Background(), func(deltas, bool) error { panic("boom") })
	}()
	wantPops(t, f, deltas{d(added, mk("a", 1))})
}

// A key being processed is not handed to another Pop; deltas that arrive
// meanwhile are popped after it returns. Delete while processing sees the
// popped deltas, not the stale cache.
func TestKeyBeingProcessedIsExclusive(t *testing.T) {
	f := newFIFO(t, deltafifo.Options[*obj]{KnownObjects: literal{}})
	must(t, f.Add(mk("a", 1)))
	must(t, f.Add(mk("b", 1)))
	err := f.Pop(context.Background(), func(ds deltas, _ bool) error {
		must(t, f.Update(mk("a", 2)))
		if f.Len() != 1 {
			t.Errorf("Len while a is processed = %d, want 1 (b)", f.Len())
		}
		got, _ := pop(t, f) // may only be b
		if n := got.Newest().Object.Name; n != "b" {
			t.Errorf("nested Pop got %q while a is processed", n)
		}
		return nil
	})
	must(t, err)
	wantPops(t, f, deltas{d(updated, mk("a", 2))})

	// Delete of a key whose Added is being processed is queued, although
	// KnownObjects does not have it yet; Delete of one whose Deleted is
	// being processed is a no-op.
	must(t, f.Add(mk("c", 1)))
	must(t, f.Pop(context.Background(), func(deltas, bool) error {
		return f.Delete(mk("c", 2))
	}))
	wantPops(t, f, deltas{d(deleted, mk("c", 2))})
	f2 := newFIFO(t, deltafifo.Options[*obj]{KnownObjects: literal{mk("x", 1)}})
	must(t, f2.Delete(mk("x", 2)))
	must(t, f2.Pop(context.Background(), func(deltas, bool) error {
		return f2.Delete(mk("x", 3))
	}))
	if f2.Len() != 0 {
		t.Errorf("Delete of a key being deleted queued %v", f2.QueuedKeys())
	}
}

func TestCompressUpdates(t *testing.T) {
	f := newFIFO(t, deltafifo.Options[*obj]{CompressUpdates: true})
	must(t, f.Add(mk("a", 1)))
	for i := 2; i < 100; i++ {
		must(t, f.Update(mk("a", i)))
	}
	must(t, f.Replace([]*obj{mk("a", 100)}, "")) // Sync joins the run as Updated
	must(t, f.Delete(mk("a", 101)))
	must(t, f.Replace([]*obj{mk("a", 102)}, ""))
	must(t, f.Replace([]*obj{mk("a", 103)}, ""))
	wantPops(t, f, deltas{d(added, mk("a", 1)), d(updated, mk("a", 100)), d(deleted, mk("a", 101)), d(synced, mk("a", 103))})
}

// Concurrent writers and poppers under the race detector: every key is
// processed by one Pop at a time, and each key's values come out in the
// order they were written.
func TestConcurrentAddPop(t *testing.T) {
	f := newFIFO(t, deltafifo.Options[*obj]{})
	const writers, poppers, perWriter = 4, 3, 300
	var mu sync.Mutex
	busy := map[string]bool{}
	last := map[string]int{}
	var wg, popWG sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				o := mk(fmt.Sprintf("w%d-%d", w, i%7), i+1)
				if err := f.Update(o); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for range poppers {
		popWG.Go(func() {
			for {
				err := f.Pop(context.Background(), func(ds deltas, _ bool) error {
					name := ds[0].Object.Name
					mu.Lock()
					if busy[name] {
						t.Errorf("%s processed by two Pops at once", name)
					}
					busy[name] = true
					for _, dl := range ds {
						if dl.Object.Name != name || dl.Object.Val <= last[name] {
							t.Errorf("%v after %d", dl.Object, last[name])
						}
						last[name] = dl.Object.Val
					}
					busy[name] = false
					mu.Unlock()
					return nil
				})
				if errors.Is(err, deltafifo.ErrClosed) {
					return
				}
			}
		})
	}
	wg.Wait()
	f.Close()
	popWG.Wait()
	for name, v := range last {
		if v < perWriter-6 {
			t.Errorf("%s ended at %d", name, v)
		}
	}
}

// A key marked part of the initial list while it is processed (Resync
// before the first Replace) counts once its queued deltas are processed,
// not when the earlier batch finishes.
func TestInitialMarkWhileBusy(t *testing.T) {
	f := newFIFO(t, deltafifo.Options[*obj]{KnownObjects: literal{mk("a", 1)}})
	must(t, f.Resync())
	must(t, f.Pop(context.Background(), func(ds deltas, initial bool) error {
		if initial {
			t.Error("a Resync delta popped as part of the initial list")
		}
		return f.Replace(nil, "1") // a is known but not listed: a tombstone, initial
	}))
	if f.HasSynced() {
		t.Fatal("HasSynced before the initial list's tombstone was processed")
	}
	got, initial := pop(t, f)
	if diff := cmp.Diff(deltas{tomb(mk("a", 1))}, got); diff != "" || !initial {
		t.Fatalf("tombstone (-want +got):\n%s\ninitial=%v", diff, initial)
	}
	if !f.HasSynced() {
		t.Fatal("not HasSynced after the initial list was processed")
	}
}

// TestWriteAllocations checks the package doc's cost claim: a write
// allocates only the delta list of a new key (a popped key's slot is
// recycled), so an Add and Pop of a key allocates once, and more deltas for
// a queued key allocate nothing (amortised).
func TestWriteAllocations(t *testing.T) {
	f := newFIFO(t, deltafifo.Options[*obj]{})
	a, b := mk("a", 1), mk("b", 1)
	process := func(deltas, bool) error { return nil }
	must(t, f.Add(a))
	must(t, f.Pop(context.Background(), process))
	if n := testing.AllocsPerRun(100, func() {
		_ = f.Add(a)
		_ = f.Pop(context.Background(), process)
	}); n > 1 {
		t.Errorf("Add+Pop of a new key: %v allocations, want 1", n)
	}
	must(t, f.Add(b))
	if n := testing.AllocsPerRun(1000, func() { _ = f.Update(b) }); n > 0.1 {
		t.Errorf("Update of a queued key: %v allocations, want 0 amortised", n)
	}
}

// TestRealDeletionReplacesInferredOne checks the collapse rule from the
// other side: an inferred deletion followed by a real one keeps the real
// one (it carries more information).
func TestRealDeletionReplacesInferredOne(t *testing.T) {
	f := newFIFO(t, deltafifo.Options[*obj]{})
	must(t, f.Add(mk("a", 1)))
	must(t, f.Replace(nil, "1"))
	must(t, f.Delete(mk("a", 2)))
	wantPops(t, f, deltas{d(added, mk("a", 1)), d(deleted, mk("a", 2))})
}

// TestResyncOfKeyBeingProcessed checks that Resync re-delivers a key being
// processed, with its newest popped object (KnownObjects may not hold it
// yet), unless that is a deletion.
func TestResyncOfKeyBeingProcessed(t *testing.T) {
	f := newFIFO(t, deltafifo.Options[*obj]{KnownObjects: literal{}})
	must(t, f.Add(mk("a", 1)))
	must(t, f.Add(mk("b", 1)))
	must(t, f.Pop(context.Background(), func(deltas, bool) error { return f.Resync() }))
	wantPops(t, f, deltas{d(added, mk("b", 1))}, deltas{d(synced, mk("a", 1))})
	must(t, f.Delete(mk("x", 1))) // unknown: a no-op
	must(t, f.Add(mk("c", 1)))
	must(t, f.Delete(mk("c", 2)))
	must(t, f.Pop(context.Background(), func(deltas, bool) error { return f.Resync() }))
	if n := f.Len(); n != 0 {
		t.Errorf("Resync while a deletion is processed queued %v", f.QueuedKeys())
	}
}

// TestPopBatch: PopBatch hands out the oldest keys, up to max, in queue
// order; while they are processed a Delete of one of them is kept (its
// popped deltas stand for KnownObjects) and a new delta waits, requeued
// once the batch returns; a failed batch requeues every key with its
// deltas; max below 1 is refused.
func TestPopBatch(t *testing.T) {
	known := literal{}
	f := newFIFO(t, deltafifo.Options[*obj]{KnownObjects: &known})
	for i, name := range []string{"a", "b", "c"} {
		must(t, f.Add(mk(name, i)))
	}
	err := f.PopBatch(context.Background(), 2, func(batch []deltafifo.Popped[*obj], _ string, _ bool) error {
		if len(batch) != 2 || batch[0].Deltas[0].Object.Name != "a" || batch[1].Deltas[0].Object.Name != "b" {
			t.Errorf("batch = %v, want a then b", batch)
		}
		must(t, f.Delete(mk("a", 9)))
		must(t, f.Update(mk("b", 9)))
		if f.Len() != 1 { // c: a and b are queued again behind it once the batch returns
			t.Errorf("Len while processing = %d, want 1 (busy keys wait)", f.Len())
		}
		return errors.New("refused")
	})
	if err == nil {
		t.Fatal("PopBatch hid its process function's error")
	}
	wantPops(t, f,
		deltas{d(deltafifo.Added, mk("c", 2))},
		deltas{d(deltafifo.Added, mk("a", 0)), d(deltafifo.Deleted, mk("a", 9))},
		deltas{d(deltafifo.Added, mk("b", 1)), d(deltafifo.Updated, mk("b", 9))},
	)
	if err := f.PopBatch(context.Background(), 0, func([]deltafifo.Popped[*obj], string, bool) error { return nil }); !errors.Is(err, controlloop.ErrInvalid) {
		t.Errorf("PopBatch with max 0: err = %v, want ErrInvalid", err)
	}
}
