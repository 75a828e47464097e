package etcd_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
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

// The figures of etcd/README.md (issue 13), measured against an etcd
// binary (Debian's 3.4 in the issue) run as one process:
//
//	go test -run TestFigures -figures -v ./   # in etcd/; a few minutes
//
// They are not tests: they fail only if etcd cannot be reached, and run
// only with -figures.
var (
	figures       = flag.Bool("figures", false, "measure the figures of etcd/README.md against an etcd binary (a few minutes)")
	figuresOutage = flag.Duration("figures.outage", 30*time.Second, "length of the outage TestFigures/Reconnect measures after")
)

func TestFigures(t *testing.T) {
	if !*figures {
		t.Skip("figures are measured with -figures")
	}
	bin := etcdtest.Binary(t)
	load, _ := os.ReadFile("/proc/loadavg")
	t.Logf("machine: %s/%s, %d CPUs, %s; load average %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel(), strings.TrimSpace(string(load)))
	t.Run("InitialSync", func(t *testing.T) { figureInitialSync(t, bin) })
	t.Run("Latency", func(t *testing.T) { figureLatency(t, bin) })
	t.Run("Reconnect", func(t *testing.T) { figureReconnect(t, bin) })
}

// cpuModel is the CPU's name from /proc/cpuinfo, if there is one.
func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// populate stores n pods under src's prefix, 128 per transaction (etcd's
// default --max-txn-ops), as src's codec encodes them.
func populate(t *testing.T, c *clientv3.Client, src *etcd.Source[*Pod], n int) {
	t.Helper()
	ctx := testContext(t, 5*time.Minute)
	const batch = 128
	next := make(chan int)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for start := range next {
				var ops []clientv3.Op
				for i := start; i < min(start+batch, n); i++ {
					p := pod(fmt.Sprintf("ns%d", i%10), fmt.Sprintf("pod-%06d", i), map[string]string{"app": "figures"})
					p.Spec = strings.Repeat("s", 100)
					v, err := etcd.JSON{}.Encode(p)
					if err != nil {
						errs <- err
						return
					}
					ops = append(ops, clientv3.OpPut(src.Key(controlloop.KeyOf(p)), string(v)))
				}
				if _, err := c.Txn(ctx).Then(ops...).Commit(); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for start := 0; start < n; start += batch {
		next <- start
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// syncTime runs an informer of src with the page size and returns how
// long it took to hold every object (HasSynced).
func syncTime(t *testing.T, src *etcd.Source[*Pod], pageSize, want int) time.Duration {
	t.Helper()
	inf, err := informer.New[*Pod](src, informer.Options[*Pod]{
		Logger:    quietLog,
		Reflector: reflector.Options{Logger: quietLog, PageSize: pageSize},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	t0 := time.Now()
	go func() { done <- inf.Run(ctx) }()
	for !inf.HasSynced() {
		time.Sleep(time.Millisecond)
	}
	d := time.Since(t0)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := inf.Reader().Len(); n != want {
		t.Fatalf("synced %d objects, want %d", n, want)
	}
	return d
}

func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}

func figureInitialSync(t *testing.T, bin string) {
	srv := etcdtest.Start(t, etcdtest.Options{Binary: bin})
	c := srv.Client(t)
	t.Logf("etcd %s", srv.Version())
	for _, n := range []int{10_000, 100_000} {
		src := newSource(t, c)
		t0 := time.Now()
		populate(t, c, src, n)
		t.Logf("stored %d objects in %v", n, time.Since(t0).Round(time.Millisecond))
		for _, page := range []int{0, 100, 1000, 5000, 10_000, -1} {
			if page == 100 && n > 10_000 {
				continue // slow: about 40s a sync
			}
			var ds []time.Duration
			for range 3 {
				ds = append(ds, syncTime(t, src, page, n))
			}
			name := strconv.Itoa(page)
			switch page {
			case 0:
				name = "default (500)"
			case -1:
				name = "unpaged"
			}
			t.Logf("FIGURE initial sync of %d objects, page size %s: median %v of %v", n, name, median(ds).Round(time.Millisecond), roundAll(ds))
		}
	}
}

func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}

// seen is an informer handler that reports when each pod first arrives.
type seen struct {
	mu sync.Mutex // protects at
	at map[string]time.Time
}

func (s *seen) OnAdd(p *Pod, _ bool)    { s.note(p) }
func (s *seen) OnUpdate(_, p *Pod)      { s.note(p) }
func (s *seen) OnDelete(p *Pod, _ bool) {}
func (s *seen) note(p *Pod) {
	now := time.Now()
	s.mu.Lock()
	if _, ok := s.at[p.Name]; !ok {
		s.at[p.Name] = now
	}
	s.mu.Unlock()
}

// watching runs an informer of src with handler h until t ends.
func watching(t *testing.T, src *etcd.Source[*Pod], h informer.Handler[*Pod]) {
	t.Helper()
	inf, err := informer.New[*Pod](src, informer.Options[*Pod]{Logger: quietLog, Reflector: reflector.Options{Logger: quietLog}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inf.AddHandler(h, informer.HandlerOptions{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- inf.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	for !inf.HasSynced() {
		time.Sleep(time.Millisecond)
	}
}

func percentile(ds []time.Duration, p float64) time.Duration {
	slices.Sort(ds)
	return ds[min(len(ds)-1, int(float64(len(ds))*p))]
}

func figureLatency(t *testing.T, bin string) {
	srv := etcdtest.Start(t, etcdtest.Options{Binary: bin})
	c := srv.Client(t)
	src := newSource(t, c)
	h := &seen{at: map[string]time.Time{}}
	watching(t, src, h)
	const rate, total = 1000, 10_000 // writes per second, for 10 s
	sent := make([]time.Time, total)
	puts := make([]time.Duration, total)
	ctx := testContext(t, time.Minute)
	var wg sync.WaitGroup
	t0 := time.Now()
	for i := range total {
		time.Sleep(time.Until(t0.Add(time.Duration(i) * time.Second / rate)))
		wg.Go(func() {
			p := pod("ns", fmt.Sprintf("lat-%05d", i), nil)
			sent[i] = time.Now()
			if _, err := src.Create(ctx, p); err != nil {
				t.Error(err)
			}
			puts[i] = time.Since(sent[i])
		})
	}
	wg.Wait()
	elapsed := time.Since(t0)
	eventually(t, 30*time.Second, "every write to reach the handler", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.at) == total
	})
	var lat []time.Duration
	h.mu.Lock()
	for i := range total {
		lat = append(lat, h.at[fmt.Sprintf("lat-%05d", i)].Sub(sent[i]))
	}
	h.mu.Unlock()
	t.Logf("etcd %s: %d creates in %v (%.0f/s)", srv.Version(), total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds())
	t.Logf("FIGURE write -> handler latency at %d writes/s: p50 %v, p99 %v, max %v (the write's own round trip: p50 %v, p99 %v)",
		rate, percentile(lat, 0.5).Round(10*time.Microsecond), percentile(lat, 0.99).Round(10*time.Microsecond), percentile(lat, 1).Round(10*time.Microsecond),
		percentile(puts, 0.5).Round(10*time.Microsecond), percentile(puts, 0.99).Round(10*time.Microsecond))
}

func figureReconnect(t *testing.T, bin string) {
	srv := etcdtest.Start(t, etcdtest.Options{Binary: bin})
	bounded := configClient(t, etcd.ClientConfig{Endpoints: srv.Endpoints()})
	grpcDefault, err := clientv3.New(clientv3.Config{Endpoints: srv.Endpoints(), DialTimeout: 5 * time.Second, Logger: quietZap()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { grpcDefault.Close() })
	prefix := newSource(t, bounded).Prefix()
	handlers := map[string]*seen{}
	for name, c := range map[string]*clientv3.Client{"ClientConfig's default (2s)": bounded, "gRPC's default (120s)": grpcDefault} {
		src, err := etcd.New[*Pod](c, etcd.Options{Prefix: prefix, Logger: quietLog})
		if err != nil {
			t.Fatal(err)
		}
		h := &seen{at: map[string]time.Time{}}
		watching(t, src, h)
		handlers[name] = h
	}
	srv.Stop()
	time.Sleep(*figuresOutage)
	if err := srv.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	w, err := etcd.New[*Pod](srv.Client(t), etcd.Options{Prefix: prefix, Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t, 5*time.Minute)
	if _, err := w.Create(ctx, pod("ns", "after-outage", nil)); err != nil {
		t.Fatal(err)
	}
	for name, h := range handlers {
		eventually(t, 4*time.Minute, "the write after the outage", func() bool {
			h.mu.Lock()
			defer h.mu.Unlock()
			_, ok := h.at["after-outage"]
			return ok
		})
		h.mu.Lock()
		t.Logf("FIGURE first event after a %v outage, %s reconnect backoff: %v after etcd was back", *figuresOutage, name, h.at["after-outage"].Sub(back).Round(time.Millisecond))
		h.mu.Unlock()
	}
}
