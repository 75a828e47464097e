package reconcile_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/internal/bench"
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
			var q workqueue.Queue[controlloop.Key] // the zero Queue: as New(Options{})
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

// BenchmarkBindingOnUpdate is the cost of one informer notification through
// Watch's handler (predicates, ForObject, enqueue): it allocates nothing
// (issue 14: ForObject allocated a slice per event).
func BenchmarkBindingOnUpdate(b *testing.B) {
	ctl, err := reconcile.New(reconcile.Func[reconcile.Request](func(context.Context, reconcile.Request) (reconcile.Result, error) {
		return reconcile.Result{}, nil
	}), reconcile.Options[reconcile.Request]{Name: "b"})
	if err != nil {
		b.Fatal(err)
	}
	h := reconcile.NewBinding(ctl, reconcile.ForObject[*Pod]())
	p1 := &Pod{ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: "a", ResourceVersion: "1"}}
	p2 := &Pod{ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: "a", ResourceVersion: "2"}}
	b.ReportAllocs()
	for b.Loop() {
		h.OnUpdate(p1, p2)
	}
}

// BenchmarkIntrospection is the cost per reconcile of Options.Introspect:
// the same events, through a Watch binding, to a controller with it off
// and on (reasons noted and taken, a state recorded per reconcile, the
// queue's clock reads). Quote on against off from one run.
func BenchmarkIntrospection(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			pods := make([]*Pod, 10_000)
			for i, k := range bench.Keys(len(pods)) {
				pods[i] = &Pod{ObjectMeta: controlloop.ObjectMeta{Namespace: k.Namespace, Name: k.Name}}
			}
			last := &Pod{ObjectMeta: controlloop.ObjectMeta{Name: "last"}}
			ctx, cancel := context.WithCancel(context.Background())
			c, err := reconcile.New(reconcile.Func[controlloop.Key](func(_ context.Context, req controlloop.Key) (reconcile.Result, error) {
				if req.Name == "last" {
					cancel()
				}
				return reconcile.Result{}, nil
			}), reconcile.Options[controlloop.Key]{Name: "bench", Logger: quiet, Introspect: on})
			if err != nil {
				b.Fatal(err)
			}
			h := reconcile.NewBinding(c, reconcile.ForObject[*Pod]())
			b.ReportAllocs()
			b.ResetTimer()
			done := make(chan error)
			go func() { done <- c.Run(ctx) }()
			for i := range b.N {
				h.OnAdd(pods[i%len(pods)], false)
				for c.Queue().Len() > 1000 {
					runtimeGosched()
				}
			}
			h.OnAdd(last, true) // initial: low priority, so handed out last
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		})
	}
}
