package workqueue_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop/workqueue"
)

// getAt hands out the next item and reports how long Get blocked.
func getAt(t *testing.T, q *workqueue.Queue[string]) (string, time.Duration) {
	t.Helper()
	start := time.Now()
	item, err := q.Get(context.Background())
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	return item, time.Since(start)
}

func TestAddAfterWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := must(workqueue.New(workqueue.Options[string]{}))
		q.AddAfter("a", 3*time.Second)
		q.AddAfter("b", time.Second)
		if q.Len() != 0 {
			t.Fatalf("Len = %d before any delay ended", q.Len())
		}
		if item, waited := getAt(t, q); item != "b" || waited != time.Second {
			t.Fatalf("got %q after %v, want b after 1s", item, waited)
		}
		if item, waited := getAt(t, q); item != "a" || waited != 2*time.Second {
			t.Fatalf("got %q after %v more, want a after 2s more", item, waited)
		}
	})
}

func TestAddAfterEarliestWins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := must(workqueue.New(workqueue.Options[string]{}))
		q.AddAfter("a", 10*time.Second)
		q.AddAfter("a", 2*time.Second)
		q.AddAfter("a", 5*time.Second) // later: ignored
		if item, waited := getAt(t, q); item != "a" || waited != 2*time.Second {
			t.Fatalf("got %q after %v, want a after 2s", item, waited)
		}
		q.Done("a")
		time.Sleep(time.Minute) // every old delay has ended
		synctest.Wait()
		if q.Len() != 0 {
			t.Fatalf("Len = %d: an old delay delivered the item again", q.Len())
		}
	})
}

func TestAddOfWaitingItemDeliversOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := must(workqueue.New(workqueue.Options[string]{}))
		q.AddAfter("a", time.Second)
		q.Add("a")
		if item, waited := getAt(t, q); item != "a" || waited != 0 {
			t.Fatalf("got %q after %v, want a at once", item, waited)
		}
		q.Done("a")
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if q.Len() != 0 {
			t.Fatalf("Len = %d: the item was delivered a second time when its delay ended", q.Len())
		}
	})
}

func TestNegativeDelayIsImmediate(t *testing.T) {
	q := must(workqueue.New(workqueue.Options[string]{}))
	q.AddAfter("a", -time.Second)
	if q.Len() != 1 {
		t.Fatalf("Len = %d, want 1", q.Len())
	}
}

func TestDelayedAddWhileProcessing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := must(workqueue.New(workqueue.Options[string]{}))
		q.Add("a")
		getAt(t, q)
		q.AddAfter("a", 5*time.Second)
		time.Sleep(time.Second)
		q.Done("a")
		if q.Len() != 0 {
			t.Fatalf("Len = %d right after Done, want 0: the re-add is delayed", q.Len())
		}
		if item, waited := getAt(t, q); item != "a" || waited != 4*time.Second {
			t.Fatalf("got %q after %v, want a 4s after Done (5s after the add)", item, waited)
		}
	})
}

func TestDelayedPriority(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := must(workqueue.New(workqueue.Options[string]{}))
		q.AddWithOptions("urgent", workqueue.AddOptions{After: time.Second, Priority: 9})
		q.Add("normal")
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if item, _ := getAt(t, q); item != "urgent" {
			t.Fatalf("got %q, want the higher-priority item once both are ready", item)
		}
	})
}

func TestRateLimitedBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := must(workqueue.New(workqueue.Options[string]{
			RateLimiter: must(workqueue.NewItemExponential[string](10*time.Millisecond, time.Second)),
		}))
		want := []time.Duration{10, 20, 40, 80, 160, 320, 640, 1000, 1000}
		for i, w := range want {
			q.AddRateLimited("a")
			item, waited := getAt(t, q)
			if waited != w*time.Millisecond {
				t.Fatalf("retry %d waited %v, want %v", i, waited, w*time.Millisecond)
			}
			q.Done(item)
		}
		if n := q.NumRequeues("a"); n != len(want) {
			t.Fatalf("NumRequeues = %d, want %d", n, len(want))
		}
		q.Forget("a")
		if n := q.NumRequeues("a"); n != 0 {
			t.Fatalf("NumRequeues after Forget = %d", n)
		}
		q.AddRateLimited("a")
		if _, waited := getAt(t, q); waited != 10*time.Millisecond {
			t.Fatalf("after Forget waited %v, want the base delay again", waited)
		}
	})
}

func TestDefaultLimiterBucketCapsStorm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := workqueue.DefaultControllerRateLimiter[int]()
		// The burst of 100 passes with only the per-item 5ms; the next item waits for a token.
		for i := range 100 {
			if d := l.When(i); d != 5*time.Millisecond {
				t.Fatalf("item %d within burst waits %v, want 5ms", i, d)
			}
		}
		if d := l.When(100); d != 100*time.Millisecond {
			t.Fatalf("item past the burst waits %v, want 100ms (10 qps)", d)
		}
	})
}

func TestShutDownWithDrainWaitsForInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := must(workqueue.New(workqueue.Options[string]{}))
		q.Add("a")
		getAt(t, q)
		done := make(chan time.Duration)
		go func() {
			start := time.Now()
			if err := q.ShutDownWithDrain(context.Background()); err != nil {
				t.Errorf("ShutDownWithDrain: %v", err)
			}
			done <- time.Since(start)
		}()
		time.Sleep(3 * time.Second)
		q.Done("a")
		if waited := <-done; waited != 3*time.Second {
			t.Fatalf("drain returned after %v, want 3s (when the item was Done)", waited)
		}
	})
}

func TestShutDownEndsDrain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := must(workqueue.New(workqueue.Options[string]{}))
		q.Add("a")
		getAt(t, q)
		done := make(chan error)
		go func() { done <- q.ShutDownWithDrain(context.Background()) }()
		synctest.Wait()
		q.ShutDown()
		if err := <-done; err != nil {
			t.Fatalf("drain ended by ShutDown returned %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := q.ShutDownWithDrain(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("drain with an item still in flight and a 1s ctx = %v, want DeadlineExceeded", err)
		}
	})
}

func TestBlockedGetWakes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := must(workqueue.New(workqueue.Options[string]{}))
		ctx, cancel := context.WithCancel(context.Background())
		errs := make(chan error, 2)
		go func() { _, err := q.Get(ctx); errs <- err }()
		synctest.Wait()
		cancel()
		if err := <-errs; !errors.Is(err, context.Canceled) {
			t.Fatalf("blocked Get after cancel = %v", err)
		}
		go func() { _, err := q.Get(context.Background()); errs <- err }()
		synctest.Wait()
		q.ShutDown()
		if err := <-errs; !errors.Is(err, workqueue.ErrShutDown) {
			t.Fatalf("blocked Get after ShutDown = %v", err)
		}
	})
}

func TestShutDownDropsDelayed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := must(workqueue.New(workqueue.Options[string]{}))
		q.AddAfter("a", time.Second)
		q.Add("b")
		getAt(t, q)
		q.AddAfter("b", time.Second)
		q.ShutDown()
		q.Done("b")
		time.Sleep(time.Minute)
		synctest.Wait()
		if q.Len() != 0 {
			t.Fatalf("Len = %d after shutdown: delayed items must be dropped", q.Len())
		}
		if _, err := q.Get(context.Background()); !errors.Is(err, workqueue.ErrShutDown) {
			t.Fatalf("Get = %v, want ErrShutDown", err)
		}
	})
}

// TestHugeDelayDoesNotWrap checks that a delay too long for the clock
// (math.MaxInt64, or a limiter's rate.InfDuration) keeps the item waiting
// instead of overflowing into the past, where the next due item would carry
// it to ready.
func TestHugeDelayDoesNotWrap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := must(workqueue.New(workqueue.Options[string]{}))
		time.Sleep(time.Second) // a clock past the queue's epoch
		q.AddAfter("new", math.MaxInt64)
		q.AddWithOptions("limited", workqueue.AddOptions{After: math.MaxInt64, RateLimited: true}) // + the limiter's 5ms
		q.AddAfter("waiting", 2*time.Hour)
		q.AddAfter("waiting", math.MaxInt64) // later: keeps 2h
		q.Add("processing")
		getAt(t, q)
		q.AddAfter("processing", math.MaxInt64) // the re-add on Done waits
		q.Done("processing")
		q.AddAfter("due", time.Minute) // its timer moves every due item to ready
		time.Sleep(time.Hour)
		synctest.Wait()
		if got := q.Len(); got != 1 {
			t.Fatalf("Len = %d an hour on, want 1 (only due): an add delayed by math.MaxInt64 became ready", got)
		}
		if item, _ := getAt(t, q); item != "due" {
			t.Fatalf("Get = %q, want due", item)
		}
		q.ShutDown()
	})
}

// TestHugeDelayDoesNotStarve checks that adds delayed past the end of the
// clock (time.Until of year 9999, which saturates, and math.MaxInt64),
// which head the delay heap, hold back no add with a short delay made after
// them: each is handed out exactly when due, as a controller's retries and
// RequeueAfter results are, and the huge ones never (issue 12, item 4).
func TestHugeDelayDoesNotStarve(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := must(workqueue.New(workqueue.Options[string]{}))
		time.Sleep(time.Second) // a clock past the queue's epoch, where sums can overflow
		q.AddAfter("year 9999", time.Until(time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)))
		q.AddAfter("max", math.MaxInt64)
		q.Add("requeued")
		getAt(t, q)
		q.AddAfter("requeued", math.MaxInt64) // waits once Done
		q.Done("requeued")
		for _, d := range []time.Duration{10 * time.Millisecond, time.Second, time.Hour, 24 * time.Hour} {
			item := "after " + d.String()
			q.AddAfter(item, d)
			start := time.Now()
			ctx, cancel := context.WithTimeout(t.Context(), d+time.Minute)
			got, err := q.Get(ctx)
			cancel()
			if waited := time.Since(start); err != nil || got != item || waited != d {
				t.Fatalf("Get = %q, %v after %v; want %q after %v", got, err, waited, item, d)
			}
			q.Done(item)
		}
		time.Sleep(365 * 24 * time.Hour)
		synctest.Wait()
		if n := q.Len(); n != 0 {
			t.Fatalf("Len = %d a year on, want 0: a huge delay ended", n)
		}
		q.ShutDown()
	})
}

// TestStaleWaitersAreDropped: a delay cut short by an Add, or moved earlier
// by another AddAfter, leaves a stale slot in the waiting heap; the heap
// never holds more stale slots than waiting items (issue 14: the heap deletes
// lazily).
func TestStaleWaitersAreDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := must(workqueue.New(workqueue.Options[int]{}))
		for i := range 100 {
			q.AddAfter(i, time.Hour)
		}
		for i := range 100 {
			q.Add(i) // cut short
		}
		if n := q.Waiters(); n != 0 {
			t.Errorf("nothing waits, but the heap holds %d slots", n)
		}
		q.AddAfter(1000, time.Hour)
		for i := range 100 {
			q.AddAfter(1000, time.Hour-time.Duration(i+1)*time.Second) // moved earlier
		}
		if n := q.Waiters(); n > 2 {
			t.Errorf("one item waits, but the heap holds %d slots", n)
		}
		if got, err := q.Get(context.Background()); got != 0 || err != nil {
			t.Fatalf("Get = %d, %v; want 0, the first item made ready", got, err)
		}
		q.ShutDown()
	})
}

// TestShutDownKeepsItemsWhoseDelayWasCutShort: ShutDown drops the items
// that wait, not those that waited and were made ready by an Add, nor those
// being processed whose delayed re-add it drops.
func TestShutDownKeepsItemsWhoseDelayWasCutShort(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := must(workqueue.New(workqueue.Options[string]{}))
		q.AddAfter("waiting", time.Hour)
		q.AddAfter("also waiting", time.Hour)
		q.AddAfter("ready", time.Hour)
		q.Add("ready") // its heap slot goes stale, and stays: two items wait
		q.ShutDown()
		if item, waited := getAt(t, q); item != "ready" || waited != 0 {
			t.Fatalf("got %q after %v, want ready at once", item, waited)
		}
		if _, err := q.Get(context.Background()); !errors.Is(err, workqueue.ErrShutDown) {
			t.Fatalf("second Get = %v, want ErrShutDown (the waiting items were dropped)", err)
		}
	})
}
