package etcd_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/controlloop/controlloop/etcd"
	"github.com/controlloop/controlloop/etcd/etcdtest"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/reconcile"
	"github.com/controlloop/controlloop/reflector"
	"github.com/controlloop/controlloop/shard"
)

// benchThroughput holds BenchmarkShardedThroughput's reconciles per
// second by replica count, so that each count is quoted against one
// replica measured in the same run.
var benchThroughput sync.Map

// BenchmarkShardedThroughput measures the reconcile throughput of 1, 2, 3
// and 5 replicas of a sharded controller on one embedded etcd, for an
// I/O-bound reconcile: a fixed 20ms latency, then a fenced status write.
// Every reconcile asks to run again, so every key is always due: the
// replicas run flat out over 200 pods, 2 workers each. It reports
// reconciles/s, the ratio to 1 replica (x-vs-1), and the coordination
// overhead per reconcile: the mean time a reconcile took beyond its fixed
// latency (admission, Begin, the fenced write's transaction, the queue).
func BenchmarkShardedThroughput(b *testing.B) {
	const (
		objects = 200
		workers = 2
		latency = 20 * time.Millisecond
		window  = 3 * time.Second
	)
	srv := etcdtest.Start(b, etcdtest.Options{})
	for _, n := range []int{1, 2, 3, 5} {
		b.Run(fmt.Sprintf("replicas=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			prefix := fmt.Sprintf("/bench/sharded-%d", prefixes.Add(1))
			c := srv.Client(b)
			src, err := etcd.New[*Pod](c, etcd.Options{Prefix: prefix + "/pods"})
			if err != nil {
				b.Fatal(err)
			}
			ctx, stop := context.WithCancel(context.Background())
			defer stop()
			for i := range objects {
				if _, err := src.Create(ctx, pod("ns", fmt.Sprintf("pod-%03d", i), nil)); err != nil {
					b.Fatal(err)
				}
			}
			var done, busy atomic.Int64 // reconciles finished; their total time in ns
			var wg sync.WaitGroup
			defer wg.Wait()
			defer stop()
			members := make([]*shard.Member, n)
			for i := range n {
				client, err := srv.NewClient()
				if err != nil {
					b.Fatal(err)
				}
				rsrc, err := etcd.New[*Pod](client, etcd.Options{Prefix: prefix + "/pods"})
				if err != nil {
					b.Fatal(err)
				}
				coord, err := etcd.NewCoordinator(client, etcd.CoordinatorOptions{Prefix: prefix, TTL: 5 * time.Second, Logger: quietLog})
				if err != nil {
					b.Fatal(err)
				}
				inf, err := informer.New[*Pod](rsrc, informer.Options[*Pod]{Logger: quietLog, Reflector: reflector.Options{Logger: quietLog}})
				if err != nil {
					b.Fatal(err)
				}
				m, err := shard.New(coord, shard.Options{Ring: "pods", ID: fmt.Sprint("r", i), Window: window, Logger: quietLog,
					Keys: shard.KeysOf(inf.Reader().All()), Fresh: etcd.Fresh(rsrc, inf.LastSyncResourceVersion)})
				if err != nil {
					b.Fatal(err)
				}
				members[i] = m
				fenced := rsrc.ShardFenced(coord)
				reader := inf.Reader()
				ctrl, err := reconcile.New(reconcile.Func[reconcile.Request](func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
					start := time.Now()
					time.Sleep(latency)
					if p, err := reader.Get(req); err == nil {
						next := *p
						next.Status = fmt.Sprint(time.Now().UnixNano())
						// A conflict (the cache is behind our own last
						// write) or a fenced write counts as a reconcile
						// too: it took the latency and a round trip.
						_, _ = fenced.UpdateStatus(ctx, &next)
					}
					done.Add(1)
					busy.Add(int64(time.Since(start)))
					return reconcile.Result{RequeueAfter: time.Microsecond}, nil
				}), reconcile.Options[reconcile.Request]{Name: fmt.Sprint("pods-", i), Workers: workers, Admitter: m, Logger: quietLog, SyncPeriod: reconcile.NoSync})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := reconcile.Watch(ctrl, inf, reconcile.ForObject[*Pod]()); err != nil {
					b.Fatal(err)
				}
				m.Attach(ctrl.Queue())
				wg.Go(func() {
					defer client.Close()
					var rwg sync.WaitGroup
					for _, run := range []func(context.Context) error{inf.Run, ctrl.Run, m.Run} {
						rwg.Go(func() { _ = run(ctx) })
					}
					rwg.Wait()
				})
			}
			// Wait until the slots are shared out.
			for deadline := time.Now().Add(60 * time.Second); ; {
				owned := 0
				for _, m := range members {
					owned += len(m.Owned())
				}
				if owned == 1024 {
					break
				}
				if time.Now().After(deadline) {
					b.Fatalf("%d replicas own %d of 1024 slots after 60s", n, owned)
				}
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(time.Second) // let every replica reach full load
			b.ResetTimer()
			d0, t0 := done.Load(), busy.Load()
			start := time.Now()
			time.Sleep(time.Duration(b.N) * time.Second)
			elapsed := time.Since(start)
			b.StopTimer()
			count := done.Load() - d0
			rate := float64(count) / elapsed.Seconds()
			b.ReportMetric(rate, "reconciles/s")
			b.ReportMetric(float64(time.Duration((busy.Load()-t0)/max(count, 1))-latency)/1e6, "overhead-ms/reconcile")
			benchThroughput.Store(n, rate)
			if one, ok := benchThroughput.Load(1); ok {
				b.ReportMetric(rate/one.(float64), "x-vs-1")
			}
		})
	}
}
