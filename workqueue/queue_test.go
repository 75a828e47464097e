package workqueue_test

import (
	"context"
	"errors"
	"testing"

	"github.com/controlloop/controlloop/workqueue"
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
	q := workqueue.New(workqueue.Options[string]{})
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
	q := workqueue.New(workqueue.Options[string]{})
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
	q := workqueue.New(workqueue.Options[string]{})
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
	q := workqueue.New(workqueue.Options[string]{})
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
	q := workqueue.New(workqueue.Options[int]{})
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
	q := workqueue.New(workqueue.Options[string]{})
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
	q := workqueue.New(workqueue.Options[string]{})
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
