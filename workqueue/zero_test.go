package workqueue_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop/workqueue"
)

// TestZeroQueueFirstCall calls each method first on a zero Queue, then
// checks that the queue works as New(Options{}) makes it work.
func TestZeroQueueFirstCall(t *testing.T) {
	first := map[string]func(q *workqueue.Queue[string]){
		"Add":            func(q *workqueue.Queue[string]) { q.Add("x") },
		"AddAfter":       func(q *workqueue.Queue[string]) { q.AddAfter("x", time.Second) },
		"AddRateLimited": func(q *workqueue.Queue[string]) { q.AddRateLimited("x") },
		"AddWithOptions": func(q *workqueue.Queue[string]) { q.AddWithOptions("x", workqueue.AddOptions{Priority: 1}) },
		"Get": func(q *workqueue.Queue[string]) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if _, err := q.Get(ctx); !errors.Is(err, context.Canceled) {
				t.Errorf("Get with a cancelled ctx = %v", err)
			}
		},
		"Done":        func(q *workqueue.Queue[string]) { q.Done("x") },
		"Forget":      func(q *workqueue.Queue[string]) { q.Forget("x") },
		"NumRequeues": func(q *workqueue.Queue[string]) { q.NumRequeues("x") },
		"Len":         func(q *workqueue.Queue[string]) { q.Len() },
		"ShuttingDown": func(q *workqueue.Queue[string]) {
			if q.ShuttingDown() {
				t.Error("a zero Queue is shutting down")
			}
		},
	}
	for name, call := range first {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var q workqueue.Queue[string]
				call(&q)
				time.Sleep(time.Minute) // every delay above has ended
				synctest.Wait()
				if n := q.Len(); n > 1 {
					t.Fatalf("Len = %d after one add", n)
				}
				if q.Len() == 1 {
					q.Done(mustGet(t, &q))
				}
				checkWorksAsNew(t, &q)
			})
		})
	}
}

// checkWorksAsNew runs q, empty, through its contract with the defaults of
// New(Options{}): the default rate limiter's 5ms first retry.
func checkWorksAsNew(t *testing.T, q *workqueue.Queue[string]) {
	t.Helper()
	q.Forget("a")
	q.Add("a")
	q.Add("a")
	if n := q.Len(); n != 1 {
		t.Fatalf("Len = %d after adding one item twice, want 1", n)
	}
	if got := mustGet(t, q); got != "a" {
		t.Fatalf("Get = %q, want a", got)
	}
	q.AddRateLimited("a")
	if n := q.NumRequeues("a"); n != 1 {
		t.Fatalf("NumRequeues = %d after one AddRateLimited, want 1", n)
	}
	q.Done("a")
	start := time.Now()
	if got, err := q.Get(context.Background()); got != "a" || err != nil {
		t.Fatalf("Get = %q, %v; want a", got, err)
	}
	if waited := time.Since(start); waited != 5*time.Millisecond {
		t.Fatalf("rate-limited re-add waited %v, want the default limiter's 5ms", waited)
	}
	q.Forget("a")
	if n := q.NumRequeues("a"); n != 0 {
		t.Fatalf("NumRequeues after Forget = %d", n)
	}
	drained := make(chan error)
	go func() { drained <- q.ShutDownWithDrain(context.Background()) }()
	synctest.Wait()
	if !q.ShuttingDown() {
		t.Fatal("ShuttingDown = false during ShutDownWithDrain")
	}
	q.Done("a")
	if err := <-drained; err != nil {
		t.Fatalf("ShutDownWithDrain = %v", err)
	}
	if _, err := q.Get(context.Background()); !errors.Is(err, workqueue.ErrShutDown) {
		t.Fatalf("Get after shutdown = %v, want ErrShutDown", err)
	}
}

// TestZeroQueueShutDownFirst checks that a zero Queue shut down before any
// other use stays shut down.
func TestZeroQueueShutDownFirst(t *testing.T) {
	for name, shutDown := range map[string]func(q *workqueue.Queue[string]){
		"ShutDown": func(q *workqueue.Queue[string]) { q.ShutDown() },
		"ShutDownWithDrain": func(q *workqueue.Queue[string]) {
			if err := q.ShutDownWithDrain(context.Background()); err != nil {
				t.Errorf("ShutDownWithDrain of an empty queue = %v", err)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			var q workqueue.Queue[string]
			shutDown(&q)
			q.Add("a")
			if n := q.Len(); n != 0 {
				t.Fatalf("Len = %d: an add after shutdown was kept", n)
			}
			if _, err := q.Get(context.Background()); !errors.Is(err, workqueue.ErrShutDown) {
				t.Fatalf("Get = %v, want ErrShutDown", err)
			}
		})
	}
}

// TestZeroQueueConcurrentFirstUse has goroutines race to be the first user
// of a zero Queue; run it under -race, which reports a set-up that is not
// done once under the lock.
func TestZeroQueueConcurrentFirstUse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for range 500 {
			var q workqueue.Queue[int]
			start := make(chan struct{})
			var wg sync.WaitGroup
			got := make(chan int, 1)
			wg.Go(func() {
				<-start
				item, err := q.Get(context.Background())
				if err != nil {
					t.Errorf("Get = %v", err)
				}
				got <- item
			})
			for _, use := range []func(){
				func() { q.Add(1) },
				func() { q.AddAfter(2, time.Second) },
				func() { q.AddRateLimited(3) },
				func() { q.Forget(4) },
				func() { q.NumRequeues(5) },
				func() { q.Done(6) },
				func() { q.Len() },
			} {
				wg.Go(func() {
					<-start
					use()
				})
			}
			close(start)
			wg.Wait()
			if item := <-got; item != 1 && item != 3 {
				t.Fatalf("Get = %d, want 1 or 3 (the items ready first)", item)
			}
			q.ShutDown()
		}
	})
}
