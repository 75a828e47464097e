package reconcile_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/internal/bench"
	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/reconcile"
	"github.com/controlloop/controlloop/reflector"
	"github.com/controlloop/controlloop/workqueue"
)

// appliedWrites is the memstore's client, except that UpdateStatus writes
// nothing and returns the object at a version the cache has applied: each
// reconcile records a write, and the next reconcile of the request checks
// it and lets the request through, which is the gating's steady-state path.
type appliedWrites struct {
	*memstore.Store[*Counter]
	obj *Counter
}

func (a appliedWrites) UpdateStatus(context.Context, *Counter) (*Counter, error) { return a.obj, nil }

// BenchmarkStaleCacheGating measures the gating's cost per reconcile: a
// controller bound to an informer with ordered versions reconciles 10,000
// requests, each reconcile "writing" once through TrackWrites at a version
// the cache has already applied, with the gating on and off
// (NoStaleCacheGating). The ratio gating=on / gating=off is the cost.
func BenchmarkStaleCacheGating(b *testing.B) {
	for _, gating := range []bool{false, true} {
		name := "gating=off"
		if gating {
			name = "gating=on"
		}
		b.Run(name, func(b *testing.B) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			store, err := memstore.New[*Counter](memstore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			obj, err := store.Create(ctx, &Counter{ObjectMeta: controlloop.ObjectMeta{Name: "c"}})
			if err != nil {
				b.Fatal(err)
			}
			inf, err := informer.New[*Counter](store, informer.Options[*Counter]{Logger: quiet, Reflector: reflector.Options{Logger: quiet}})
			if err != nil {
				b.Fatal(err)
			}
			client := reconcile.TrackWrites[*Counter](appliedWrites{Store: store, obj: obj})
			keys := bench.Keys(10_000)
			last := controlloop.Key{Name: "last"}
			var reconciles atomic.Int64
			r := reconcile.Func[reconcile.Request](func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
				reconciles.Add(1)
				if req == last {
					cancel()
				}
				_, err := client.UpdateStatus(ctx, obj)
				return reconcile.Result{}, err
			})
			opts := reconcile.Options[reconcile.Request]{Name: "bench", Logger: quiet}
			if !gating {
				opts.StaleCacheTimeout = reconcile.NoStaleCacheGating
			}
			c, err := reconcile.New(r, opts)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := reconcile.Watch(c, inf, reconcile.ForObject[*Counter]()); err != nil {
				b.Fatal(err)
			}
			infDone := make(chan error, 1)
			go func() { infDone <- inf.Run(ctx) }()
			done := make(chan error, 1)
			go func() { done <- c.Run(ctx) }()
			if err := informer.WaitForCacheSync(ctx, inf.HasSynced); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				c.Queue().Add(keys[i%len(keys)])
				for c.Queue().Len() > 1000 {
					runtimeGosched()
				}
			}
			c.Queue().AddWithOptions(last, workqueue.AddOptions{Priority: -1000})
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if err := <-infDone; err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(reconciles.Load())/b.Elapsed().Seconds(), "reconciles/s")
		})
	}
}
