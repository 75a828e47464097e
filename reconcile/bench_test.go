package reconcile_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/bench"
	"github.com/controlloop/controlloop/reconcile"
	"github.com/controlloop/controlloop/workqueue"
)

// BenchmarkController measures empty reconciles through the whole controller:
// enqueue, a worker's Get, Reconcile, Forget, Done. Compare with
// BenchmarkBareQueue, the same cycle on the bare work queue, to see the
// controller's own overhead per reconcile.
func BenchmarkController(b *testing.B) {
	for _, workers := range []int{1, 4} {
		b.Run("workers="+itoa(workers), func(b *testing.B) {
			keys := bench.Keys(10_000)
			// The last request, at the lowest priority, is handed out after
			// every other: it ends the run.
			last := controlloop.Key{Name: "last"}
			var reconciles atomic.Int64
			ctx, cancel := context.WithCancel(context.Background())
			r := reconcile.Func[controlloop.Key](func(_ context.Context, req controlloop.Key) (reconcile.Result, error) {
				reconciles.Add(1)
				if req == last {
					cancel()
				}
				return reconcile.Result{}, nil
			})
			c, err := reconcile.New(r, reconcile.Options[controlloop.Key]{Name: "bench", Workers: workers, Logger: quiet})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			done := make(chan error)
			go func() { done <- c.Run(ctx) }()
			for i := range b.N {
				c.Queue().Add(keys[i%len(keys)])
				for c.Queue().Len() > 1000 { // keep the queue's depth realistic
					runtimeGosched()
				}
			}
			c.Queue().AddWithOptions(last, workqueue.AddOptions{Priority: -1})
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(reconciles.Load())/b.Elapsed().Seconds(), "reconciles/s")
		})
	}
}

// BenchmarkBareQueue is the reference for BenchmarkController: the same
// producer and the same number of worker goroutines, each doing Get,
// Forget and Done on a bare queue, with no reconciler.
func BenchmarkBareQueue(b *testing.B) {
	for _, workers := range []int{1, 4} {
		b.Run("workers="+itoa(workers), func(b *testing.B) {
			keys := bench.Keys(10_000)
			last := controlloop.Key{Name: "last"}
			var processed atomic.Int64
			q := workqueue.New(workqueue.Options[controlloop.Key]{})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			b.ReportAllocs()
			b.ResetTimer()
			var wg sync.WaitGroup
			for range workers {
				wg.Go(func() {
					for {
						k, err := q.Get(ctx)
						if err != nil {
							return
						}
						processed.Add(1)
						if k == last {
							cancel()
						}
						q.Forget(k)
						q.Done(k)
					}
				})
			}
			for i := range b.N {
				q.Add(keys[i%len(keys)])
				for q.Len() > 1000 {
					runtimeGosched()
				}
			}
			q.AddWithOptions(last, workqueue.AddOptions{Priority: -1})
			wg.Wait()
			b.ReportMetric(float64(processed.Load())/b.Elapsed().Seconds(), "reconciles/s")
		})
	}
}
