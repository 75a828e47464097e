package workqueue_test

import (
	"context"
	"errors"
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
		q := workqueue.New(workqueue.Options[string]{})
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
		q := workqueue.New(workqueue.Options[string]{})
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
		q := workqueue.New(workqueue.Options[string]{})
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
	q := workqueue.New(workqueue.Options[string]{})
	q.AddAfter("a", -time.Second)
	if q.Len() != 1 {
		t.Fatalf("Len = %d, want 1", q.Len())
	}
}

func TestDelayedAddWhileProcessing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := workqueue.New(workqueue.Options[string]{})
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
		q := workqueue.New(workqueue.Options[string]{})
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
		q := workqueue.New(workqueue.Options[string]{
			RateLimiter: workqueue.NewItemExponential[string](10*time.Millisecond, time.Second),
		})
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
		q := workqueue.New(workqueue.Options[string]{})
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
		q := workqueue.New(workqueue.Options[string]{})
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
		q := workqueue.New(workqueue.Options[string]{})
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
		q := workqueue.New(workqueue.Options[string]{})
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
