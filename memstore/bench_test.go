package memstore_test

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/memstore"
)

// startWatchers opens n watches and returns a function that waits until
// each has received the event at version until, and reports how many were
// closed before.
func startWatchers(b *testing.B, s *memstore.Store[*Pod], n int) (wait func(until string) int) {
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	done := make(chan struct{})
	var target string // written before done is closed
	var wg sync.WaitGroup
	var closed atomic.Int64
	for range n {
		ch, err := s.Watch(ctx, controlloop.WatchOptions{})
		if err != nil {
			b.Fatal(err)
		}
		wg.Go(func() {
			last := ""
			for {
				select {
				case ev, ok := <-ch:
					if !ok {
						closed.Add(1)
						return
					}
					last = ev.ResourceVersion
				case <-done:
					for last != target {
						ev, ok := <-ch
						if !ok {
							closed.Add(1)
							return
						}
						last = ev.ResourceVersion
					}
					return
				}
			}
		})
	}
	return func(until string) int {
		target = until
		close(done)
		wg.Wait()
		return int(closed.Load())
	}
}

// BenchmarkCreate measures Create throughput with 0, 1 and 100 watchers;
// the time includes every watcher receiving every event (so B/op includes
// the watchers' copies).
func BenchmarkCreate(b *testing.B) {
	for _, watchers := range []int{0, 1, 100} {
		b.Run("watchers="+strconv.Itoa(watchers), func(b *testing.B) {
			ctx := context.Background()
			s := must(memstore.New[*Pod](memstore.Options{HistorySize: 1 << 20}))
			wait := startWatchers(b, s, watchers)
			names := make([]string, b.N)
			for i := range names {
				names[i] = strconv.Itoa(i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				p := &Pod{ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: names[i]}}
				if _, err := s.Create(ctx, p); err != nil {
					b.Fatal(err)
				}
			}
			if closed := wait(s.ResourceVersion()); closed > 0 {
				b.Fatalf("%d watchers closed early", closed)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "objects/s")
		})
	}
}

// BenchmarkUpdate measures Update throughput over 1000 objects with 0, 1
// and 100 watchers.
func BenchmarkUpdate(b *testing.B) {
	for _, watchers := range []int{0, 1, 100} {
		b.Run("watchers="+strconv.Itoa(watchers), func(b *testing.B) {
			ctx := context.Background()
			s := must(memstore.New[*Pod](memstore.Options{HistorySize: 1 << 20}))
			pods := make([]*Pod, 1000)
			for i := range pods {
				pods[i] = mustCreate(b, s, pod("ns", strconv.Itoa(i), map[string]string{"app": "web"}))
			}
			wait := startWatchers(b, s, watchers)
			b.ReportAllocs()
			b.ResetTimer()
			for n := range b.N {
				i := n % len(pods)
				got, err := s.Update(ctx, pods[i])
				if err != nil {
					b.Fatal(err)
				}
				pods[i] = got
			}
			if closed := wait(s.ResourceVersion()); closed > 0 {
				b.Fatalf("%d watchers closed early", closed)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "objects/s")
		})
	}
}

// BenchmarkWatchLatency measures the time from a write to its event
// reaching every one of 1 or 100 watchers.
func BenchmarkWatchLatency(b *testing.B) {
	for _, watchers := range []int{1, 100} {
		b.Run("watchers="+strconv.Itoa(watchers), func(b *testing.B) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			s := must(memstore.New[*Pod](memstore.Options{}))
			p := mustCreate(b, s, pod("ns", "p", nil))
			chans := make([]<-chan controlloop.Event[*Pod], watchers)
			for i := range chans {
				ch, err := s.Watch(ctx, controlloop.WatchOptions{})
				if err != nil {
					b.Fatal(err)
				}
				chans[i] = ch
			}
			b.ReportAllocs()
			for b.Loop() {
				got, err := s.Update(ctx, p)
				if err != nil {
					b.Fatal(err)
				}
				p = got
				for _, ch := range chans {
					if ev, ok := <-ch; !ok || ev.ResourceVersion != p.ResourceVersion {
						b.Fatalf("event %+v, %v; want version %s", ev, ok, p.ResourceVersion)
					}
				}
			}
		})
	}
}

// BenchmarkList measures a paged list of 10000 objects in pages of 500,
// after a write, so that no cached snapshot serves it.
func BenchmarkList(b *testing.B) {
	ctx := context.Background()
	s := must(memstore.New[*Pod](memstore.Options{}))
	const n = 10000
	var p *Pod
	for i := range n {
		p = mustCreate(b, s, pod("ns", strconv.Itoa(i), nil))
	}
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if p, err = s.Update(ctx, p); err != nil {
			b.Fatal(err)
		}
		opts := controlloop.ListOptions{Limit: 500}
		got := 0
		for {
			res, err := s.List(ctx, opts)
			if err != nil {
				b.Fatal(err)
			}
			got += len(res.Items)
			if res.Continue == "" {
				break
			}
			opts.Continue = res.Continue
		}
		if got != n {
			b.Fatalf("listed %d, want %d", got, n)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "objects/s")
}
