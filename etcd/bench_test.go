package etcd_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/etcd"
	"github.com/controlloop/controlloop/etcd/etcdtest"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/reflector"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// fill stores n pods under src's prefix in transactions of 100 puts.
func fill(b *testing.B, ctx context.Context, c *clientv3.Client, src *etcd.Source[*Pod], n int) {
	b.Helper()
	for i := 0; i < n; i += 100 {
		var ops []clientv3.Op
		for j := i; j < min(i+100, n); j++ {
			p := pod(fmt.Sprintf("ns%d", j%10), fmt.Sprintf("pod-%05d", j), map[string]string{"app": "web", "tier": "front"})
			p.Generation = 1
			p.Spec = "image: registry.example/web:1.2.3, replicas: 3, port: 8080"
			data, err := json.Marshal(p)
			if err != nil {
				b.Fatal(err)
			}
			ops = append(ops, clientv3.OpPut(src.Key(controlloop.KeyOf(p)), string(data)))
		}
		if _, err := c.Txn(ctx).Then(ops...).Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

// signalSink is a reflector.Store that signals each Replace and the
// arrival of each object.
type signalSink struct {
	replaced chan int
	arrived  chan *Pod
}

func (s *signalSink) Add(obj *Pod) error    { s.arrived <- obj; return nil }
func (s *signalSink) Update(obj *Pod) error { s.arrived <- obj; return nil }
func (s *signalSink) Delete(obj *Pod) error { return nil }
func (s *signalSink) Resync() error         { return nil }
func (s *signalSink) Replace(items []*Pod, _ string) error {
	m := make(map[controlloop.Key]*Pod, len(items)) // what a cache would build
	for _, p := range items {
		m[controlloop.KeyOf(p)] = p
	}
	s.replaced <- len(m)
	return nil
}

// BenchmarkReflectorInitialSync lists 10,000 objects from etcd in pages of
// 500 and hands them to the store: a reflector's, or an informer's,
// initial sync.
func BenchmarkReflectorInitialSync(b *testing.B) {
	const n = 10000
	srv := etcdtest.Start(b, etcdtest.Options{})
	c := srv.Client(b)
	src := newSource(b, c)
	ctx := testContext(b, 10*time.Minute)
	fill(b, ctx, c, src, n)

	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		sink := &signalSink{replaced: make(chan int, 1), arrived: make(chan *Pod, 1)}
		r, err := reflector.New(src, sink, reflector.Options{Logger: quietLog})
		if err != nil {
			b.Fatal(err)
		}
		runCtx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Go(func() { r.Run(runCtx) })
		if got := <-sink.replaced; got != n {
			b.Fatalf("synced %d objects, want %d", got, n)
		}
		stop()
		wg.Wait()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "objects/s")
}

// BenchmarkWatchLatency measures the time from the start of an Update to
// the reflector's store receiving the change through the watch, and
// reports its median and 99th percentile.
func BenchmarkWatchLatency(b *testing.B) {
	srv := etcdtest.Start(b, etcdtest.Options{})
	c := srv.Client(b)
	src := newSource(b, c)
	ctx := testContext(b, 10*time.Minute)
	obj, err := src.Create(ctx, pod("ns", "hot", nil))
	if err != nil {
		b.Fatal(err)
	}
	sink := &signalSink{replaced: make(chan int, 1), arrived: make(chan *Pod, 1)}
	r, err := reflector.New(src, sink, reflector.Options{Logger: quietLog})
	if err != nil {
		b.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { r.Run(runCtx) })
	defer func() { stop(); wg.Wait() }()
	<-sink.replaced

	lat := make([]time.Duration, 0, 1024)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		obj, err = src.Update(ctx, obj)
		if err != nil {
			b.Fatal(err)
		}
		for got := <-sink.arrived; got.ResourceVersion != obj.ResourceVersion; got = <-sink.arrived {
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds()), "p99-µs")
}

// BenchmarkInformerInitialSync starts an informer on 10,000 objects in
// etcd and waits until it has synced: listed in pages of 500, queued,
// cached and indexed.
func BenchmarkInformerInitialSync(b *testing.B) {
	const n = 10000
	srv := etcdtest.Start(b, etcdtest.Options{})
	c := srv.Client(b)
	src := newSource(b, c)
	ctx := testContext(b, 10*time.Minute)
	fill(b, ctx, c, src, n)

	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		inf, err := informer.New[*Pod](src, informer.Options[*Pod]{Logger: quietLog, Reflector: reflector.Options{Logger: quietLog}})
		if err != nil {
			b.Fatal(err)
		}
		runCtx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Go(func() { _ = inf.Run(runCtx) })
		for !inf.HasSynced() {
			time.Sleep(time.Millisecond)
		}
		if got := inf.Reader().Len(); got != n {
			b.Fatalf("cached %d objects, want %d", got, n)
		}
		stop()
		wg.Wait()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "objects/s")
}
