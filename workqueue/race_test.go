package workqueue_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop/workqueue"
)

// TestConcurrentProducersAndWorkers checks, under the race detector (the
// goroutines of a synctest bubble run in parallel as any others), that
// every item added is processed at least once after its last add, and that
// no item is ever held by two workers at once.
func TestConcurrentProducersAndWorkers(t *testing.T) {
	synctest.Test(t, testConcurrentProducersAndWorkers)
}

func testConcurrentProducersAndWorkers(t *testing.T) {
	const producers, workers, items, rounds = 4, 4, 50, 200
	q := must(workqueue.New(workqueue.Options[int]{
		RateLimiter: must(workqueue.NewItemExponential[int](time.Microsecond, time.Millisecond)),
	}))

	var (
		holders    [items]atomic.Int32
		lastAdd    [items]atomic.Int64 // sequence number of the last add
		lastSeen   [items]atomic.Int64 // latest add sequence a worker saw before processing
		seq        atomic.Int64
		violations atomic.Int32
	)
	var workersWG sync.WaitGroup
	for range workers {
		workersWG.Go(func() {
			for {
				item, err := q.Get(context.Background())
				if errors.Is(err, workqueue.ErrShutDown) {
					return
				}
				if holders[item].Add(1) != 1 {
					violations.Add(1)
				}
				lastSeen[item].Store(lastAdd[item].Load())
				if item%7 == 0 && q.NumRequeues(item) < 3 {
					q.AddRateLimited(item) // fail a few times
				} else {
					q.Forget(item)
				}
				holders[item].Add(-1)
				q.Done(item)
			}
		})
	}
	var producersWG sync.WaitGroup
	for p := range producers {
		producersWG.Go(func() {
			for r := range rounds {
				item := (p*rounds + r) % items
				lastAdd[item].Store(seq.Add(1))
				switch r % 3 {
				case 0:
					q.Add(item)
				case 1:
					q.AddAfter(item, time.Duration(r%5)*time.Microsecond)
				default:
					q.AddWithOptions(item, workqueue.AddOptions{Priority: r % 4})
				}
			}
		})
	}
	producersWG.Wait()
	// Let every delayed item come due and be processed.
	time.Sleep(time.Second)
	synctest.Wait()
	for i := range items {
		if lastSeen[i].Load() < lastAdd[i].Load() {
			t.Errorf("item %d was added but not processed after its last add", i)
		}
	}
	if err := q.ShutDownWithDrain(context.Background()); err != nil {
		t.Fatal(err)
	}
	workersWG.Wait()
	if v := violations.Load(); v != 0 {
		t.Fatalf("%d times an item was held by two workers at once", v)
	}
}
