package workqueue_test

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/workqueue"
	"go.uber.org/goleak"
)

var ctx = context.Background()

func mustGet[T comparable](t *testing.T, q *workqueue.Queue[T]) T {
	t.Helper()
	if q.Len() == 0 {
		t.Fatalf("Get on a queue with nothing ready would block")
	}
	item, err := q.Get(ctx)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	return item
}

func TestDedup(t *testing.T) {
	q := must(workqueue.New(workqueue.Options[string]{}))
	q.Add("a")
	q.Add("b")
	q.Add("a")
	if got := q.Len(); got != 2 {
		t.Fatalf("Len = %d, want 2", got)
	}
	if got := mustGet(t, q); got != "a" {
		t.Fatalf("first Get = %q, want a (FIFO)", got)
	}
	if got := mustGet(t, q); got != "b" {
		t.Fatalf("second Get = %q, want b", got)
	}
}

func TestAddWhileProcessingRequeuesOnDone(t *testing.T) {
	q := must(workqueue.New(workqueue.Options[string]{}))
	q.Add("a")
	item := mustGet(t, q)
	q.Add("a")
	q.Add("a")
	if got := q.Len(); got != 0 {
		t.Fatalf("Len while processing = %d, want 0: the item must not be handed out twice at once", got)
	}
	q.Done(item)
	if got := q.Len(); got != 1 {
		t.Fatalf("Len after Done = %d, want 1", got)
	}
	mustGet(t, q)
	q.Done("a")
	if got := q.Len(); got != 0 {
		t.Fatalf("Len after second Done = %d, want 0", got)
	}
}

func TestDoneOfUnknownItemIsNoOp(t *testing.T) {
	q := must(workqueue.New(workqueue.Options[string]{}))
	q.Done("never")
	q.Add("a")
	q.Done("a") // queued, not processing: must not drop it
	if got := q.Len(); got != 1 {
		t.Fatalf("Len = %d, want 1", got)
	}
	item := mustGet(t, q)
	q.Done(item)
	q.Done(item) // twice
	q.Add("a")
	if got := q.Len(); got != 1 {
		t.Fatalf("Len after re-add = %d, want 1", got)
	}
}

func TestPriorityOrder(t *testing.T) {
	q := must(workqueue.New(workqueue.Options[string]{}))
	q.AddWithOptions("low1", workqueue.AddOptions{Priority: -1})
	q.Add("mid1")
	q.AddWithOptions("high1", workqueue.AddOptions{Priority: 5})
	q.Add("mid2")
	q.AddWithOptions("low2", workqueue.AddOptions{Priority: -1})
	q.AddWithOptions("high2", workqueue.AddOptions{Priority: 5})
	// Re-adding low2 at a higher priority moves it up; a lower one does not move high1 down.
	q.AddWithOptions("low2", workqueue.AddOptions{Priority: 10})
	q.AddWithOptions("high1", workqueue.AddOptions{Priority: -5})
	want := []string{"low2", "high1", "high2", "mid1", "mid2", "low1"}
	for i, w := range want {
		if got := mustGet(t, q); got != w {
			t.Fatalf("Get #%d = %q, want %q (order %v)", i, got, w, want)
		}
	}
	if q.Len() != 0 {
		t.Fatalf("Len = %d after draining", q.Len())
	}
}

func TestManyPriorityLevels(t *testing.T) {
	q := must(workqueue.New(workqueue.Options[int]{}))
	for i := range 100 {
		q.AddWithOptions(i, workqueue.AddOptions{Priority: i % 37})
	}
	last := 1 << 30
	for range 100 {
		item := mustGet(t, q)
		if p := item % 37; p > last {
			t.Fatalf("got priority %d after %d", p, last)
		} else {
			last = p
		}
	}
}

func TestShutDown(t *testing.T) {
	q := must(workqueue.New(workqueue.Options[string]{}))
	q.Add("a")
	q.Add("b")
	q.AddAfter("later", 1<<40)
	q.ShutDown()
	q.Add("c") // ignored
	if !q.ShuttingDown() {
		t.Fatal("ShuttingDown = false after ShutDown")
	}
	for _, want := range []string{"a", "b"} {
		if got := mustGet(t, q); got != want {
			t.Fatalf("Get after ShutDown = %q, want %q (ready items drain)", got, want)
		}
	}
	if _, err := q.Get(ctx); !errors.Is(err, workqueue.ErrShutDown) {
		t.Fatalf("Get on a drained shut-down queue = %v, want ErrShutDown", err)
	}
	q.ShutDown() // twice is fine
}

func TestGetReturnsOnContextEnd(t *testing.T) {
	q := must(workqueue.New(workqueue.Options[string]{}))
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	q.Add("a")
	if _, err := q.Get(cctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get with a cancelled ctx = %v, want context.Canceled (stop taking work)", err)
	}
	if q.Len() != 1 {
		t.Fatalf("the item must stay queued, Len = %d", q.Len())
	}
}

// must returns v, or panics with err: for constructors given valid arguments.
func must[V any](v V, err error) V {
	if err != nil {
		panic(err)
	}
	return v
}

// TestSteadyStateAllocatesNothing checks the package doc's cost claim: once
// the queue has grown to its working size, Add, Get and Done allocate
// nothing.
func TestSteadyStateAllocatesNothing(t *testing.T) {
	q := must(workqueue.New(workqueue.Options[controlloop.Key]{}))
	keys := make([]controlloop.Key, 1000)
	for i := range keys {
		keys[i] = controlloop.Key{Namespace: "ns", Name: strconv.Itoa(i)}
	}
	for _, k := range keys[:100] {
		q.Add(k)
	}
	i := 100
	cycle := func() {
		q.Add(keys[i%len(keys)])
		i++
		item, err := q.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		q.Done(item)
	}
	for range 2 * len(keys) { // warm up: the table and the level reach their size
		cycle()
	}
	if n := testing.AllocsPerRun(1000, cycle); n != 0 {
		t.Fatalf("Add+Get+Done allocates %v times per cycle in steady state, want 0", n)
	}
}

// TestStartsNoGoroutine checks that neither New nor adds, delayed ones
// included, start a goroutine.
func TestStartsNoGoroutine(t *testing.T) {
	defer goleak.VerifyNone(t)
	q := must(workqueue.New(workqueue.Options[string]{}))
	q.Add("a")
	q.AddAfter("b", time.Hour)
	q.AddRateLimited("c")
	var zero workqueue.Queue[string]
	zero.AddAfter("b", time.Hour)
	if got := mustGet(t, q); got != "a" {
		t.Fatalf("Get = %q", got)
	}
	q.ShutDown()
	zero.ShutDown()
}

// TestShutDownLetsGoOfDelayedItems checks that the delayed items ShutDown
// drops, and a delayed re-add that Done meets after ShutDown, are forgotten,
// not kept waiting forever.
func TestShutDownLetsGoOfDelayedItems(t *testing.T) {
	q := must(workqueue.New(workqueue.Options[string]{}))
	q.AddAfter("later", time.Hour)
	q.Add("ready")
	q.Add("busy")
	if got := mustGet(t, q); got != "ready" {
		t.Fatalf("Get = %q, want ready", got)
	}
	q.AddAfter("ready", time.Hour) // a delayed re-add while processing
	q.ShutDown()
	if n := q.Held(); n != 2 {
		t.Fatalf("after ShutDown the queue holds %d items, want 2 (busy is ready, ready is processing)", n)
	}
	q.Done("ready")
	if n := q.Held(); n != 1 {
		t.Fatalf("after Done the queue holds %d items, want 1: the delayed re-add must be dropped", n)
	}
	q.Done(mustGet(t, q))
	if n := q.Held(); n != 0 {
		t.Fatalf("drained queue holds %d items", n)
	}
}

// TestShutDownHandsOutItemsReadyBeforeIt checks that a Get blocked when
// items are added and the queue shut down hands them out before it returns
// ErrShutDown, whichever it sees first.
func TestShutDownHandsOutItemsReadyBeforeIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for i := range 100 {
			q := must(workqueue.New(workqueue.Options[int]{}))
			got := make(chan error)
			go func() {
				_, err := q.Get(context.Background())
				got <- err
			}()
			synctest.Wait() // Get is blocked
			q.Add(i)
			q.ShutDown()
			if err := <-got; err != nil {
				t.Fatalf("round %d: blocked Get = %v, want the item added before ShutDown", i, err)
			}
		}
	})
}

// TestKeepsNoReferenceToItemsItLetGo checks the package doc's memory claim:
// once an item has left the queue (Done with no re-add, or dropped by
// ShutDown), the queue holds no reference to it, so it can be garbage
// collected; also when it left a stale place in the waiting heap behind.
func TestKeepsNoReferenceToItemsItLetGo(t *testing.T) {
	type item = *[64]byte
	for _, tc := range []struct {
		name  string
		leave func(t *testing.T, q *workqueue.Queue[item], it item)
	}{
		{"Done", func(t *testing.T, q *workqueue.Queue[item], it item) {
			q.Add(it)
			q.Done(mustGet(t, q))
		}},
		{"Done after an Add cut its delay short", func(t *testing.T, q *workqueue.Queue[item], it item) {
			q.AddAfter(it, time.Hour)
			q.Add(it)
			q.Done(mustGet(t, q))
		}},
		{"Done after its delay moved earlier", func(t *testing.T, q *workqueue.Queue[item], it item) {
			q.AddAfter(it, time.Hour)
			q.AddAfter(it, time.Millisecond)
			got, err := q.Get(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			q.Done(got)
		}},
		{"dropped by ShutDown", func(t *testing.T, q *workqueue.Queue[item], it item) {
			q.AddAfter(it, time.Hour)
			q.AddAfter(it, time.Minute)
			q.ShutDown()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := must(workqueue.New(workqueue.Options[item]{}))
			collected := make(chan struct{})
			it := new([64]byte)
			runtime.AddCleanup(it, func(struct{}) { close(collected) }, struct{}{})
			tc.leave(t, q, it)
			it = nil
			runtime.GC()
			select {
			case <-collected:
			case <-time.After(10 * time.Second):
				t.Fatal("an item that left the queue was not collected: the queue still refers to it")
			}
			runtime.KeepAlive(q)
			q.ShutDown()
		})
	}
}

// TestRunsOfDuplicateAdds: a run of adds of one item is deduplicated, and
// an add after that item has left the queue queues it again, the zero value
// included (issue 14: a run of duplicate adds compares with the entry the
// last duplicate add found, which must be forgotten when the entry is).
func TestRunsOfDuplicateAdds(t *testing.T) {
	q := must(workqueue.New(workqueue.Options[string]{}))
	for round := range 3 {
		for _, item := range []string{"", "hot"} {
			for range 3 {
				q.Add(item)
			}
			if n := q.Len(); n != 1 {
				t.Fatalf("round %d: Len = %d after adds of %q, want 1", round, n, item)
			}
			if got := mustGet(t, q); got != item {
				t.Fatalf("round %d: Get = %q, want %q", round, got, item)
			}
			q.Add(item) // while processing: queued again at Done
			q.Done(item)
			if got := mustGet(t, q); got != item {
				t.Fatalf("round %d: Get after Done = %q, want %q again", round, got, item)
			}
			q.Done(item)
			if n := q.Held(); n != 0 {
				t.Fatalf("round %d: queue holds %d items after %q left", round, n, item)
			}
		}
	}
}
