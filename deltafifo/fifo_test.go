package deltafifo_test

import (
	"context"
	"errors"
	"fmt"
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
	if _, err := deltafifo.New(deltafifo.Options[*obj]{KnownObjects: nilIx}); !errors.Is(err, controlloop.ErrInvalid) {
		t.Errorf("New with a nil *KnownObjects: err = %v", err)
	}
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
