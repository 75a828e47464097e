package workqueue_test

import (
	"context"
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/controlloop/controlloop/workqueue"
)

// TestSnapshot checks each state's record: queued items in hand-out order
// with priority and ready time, waiting items by due time (never due
// last), processing
// items with their start, a requeue mark and the limiter's retry count.
func TestSnapshot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		limiter, err := workqueue.NewItemExponential[string](time.Second, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		q := must(workqueue.New(workqueue.Options[string]{RateLimiter: limiter, Timestamps: true}))
		ctx := context.Background()
		t0 := time.Now()
		q.Add("busy")
		q.Get(ctx) // busy: processing since t0
		q.AddAfter("busy", time.Minute)
		time.Sleep(time.Second)
		q.AddWithOptions("low", workqueue.AddOptions{Priority: -1})
		q.Add("first")
		q.AddAfter("never", math.MaxInt64) // due never: listed after late
		q.AddAfter("late", time.Hour)
		q.AddRateLimited("retry") // 1s, its first retry
		time.Sleep(time.Second)
		synctest.Wait() // the timer has made retry ready
		q.Add("second")
		q.AddWithOptions("low", workqueue.AddOptions{Priority: 5}) // moves up: handed out first

		t1, t2 := t0.Add(time.Second), t0.Add(2*time.Second)
		got := q.Snapshot()
		want := []workqueue.ItemInfo[string]{
			{Item: "low", State: workqueue.Queued, Priority: 5, Since: t1},
			{Item: "first", State: workqueue.Queued, Since: t1},
			{Item: "retry", State: workqueue.Queued, Since: t2, Requeues: 1}, // due at t2, before second's add
			{Item: "second", State: workqueue.Queued, Since: t2},
			{Item: "late", State: workqueue.Waiting, ReadyAt: t1.Add(time.Hour)},
			{Item: "never", State: workqueue.Waiting},
			{Item: "busy", State: workqueue.Processing, Since: t0, ReadyAt: t0.Add(time.Minute), Requeued: true},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Snapshot (-want +got):\n%s", diff)
		}
		q.ShutDown()
	})
}

// TestSnapshotWithoutTimes: a queue that records no times reports zero
// Since, but its states and ready times all the same.
func TestSnapshotWithoutTimes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := must(workqueue.New(workqueue.Options[string]{}))
		q.Add("a")
		q.AddAfter("b", time.Minute)
		want := []workqueue.ItemInfo[string]{
			{Item: "a", State: workqueue.Queued},
			{Item: "b", State: workqueue.Waiting, ReadyAt: time.Now().Add(time.Minute)},
		}
		if diff := cmp.Diff(want, q.Snapshot()); diff != "" {
			t.Errorf("Snapshot (-want +got):\n%s", diff)
		}
		var zero workqueue.Queue[string]
		if got := zero.Snapshot(); len(got) != 0 {
			t.Errorf("Snapshot of a zero queue = %v, want none", got)
		}
		q.ShutDown()
	})
}

// TestOldestReady: the age of the item ready longest, also when an older
// item moved to a higher priority's back, and zero once none is ready.
func TestOldestReady(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &recorder{}
		q := must(workqueue.New(workqueue.Options[string]{Metrics: r}))
		q.Add("old")
		time.Sleep(time.Second)
		q.AddWithOptions("high", workqueue.AddOptions{Priority: 1})
		q.AddWithOptions("old", workqueue.AddOptions{Priority: 1}) // behind high, but older
		time.Sleep(time.Second)
		if got := r.inFlight().OldestReady; got != 2*time.Second {
			t.Errorf("OldestReady = %v, want 2s (old)", got)
		}
		q.Get(context.Background())
		q.Get(context.Background())
		if got := r.inFlight().OldestReady; got != 0 {
			t.Errorf("OldestReady with nothing ready = %v, want 0", got)
		}
		q.ShutDown()
	})
}

// TestSnapshotRace takes snapshots while workers churn the queue; under
// -race it shows the snapshot reads only under the lock, and every
// snapshot holds each item at most once.
func TestSnapshotRace(t *testing.T) {
	q := must(workqueue.New(workqueue.Options[int]{Timestamps: true}))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				q.AddWithOptions((w*7+i)%50, workqueue.AddOptions{Priority: i % 3, After: time.Duration(i%2) * time.Microsecond})
				if item, err := q.Get(ctx); err == nil {
					q.Done(item)
				}
			}
		})
	}
	for range 200 {
		seen := map[int]bool{}
		for _, info := range q.Snapshot() {
			if seen[info.Item] {
				t.Fatalf("item %d twice in one snapshot", info.Item)
			}
			seen[info.Item] = true
		}
	}
	cancel()
	wg.Wait()
	q.ShutDown()
}
