package reconcile_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/metrics"
	"github.com/controlloop/controlloop/reconcile"
	"github.com/controlloop/controlloop/reflector"
	"github.com/prometheus/client_golang/prometheus"
	"pgregory.net/rapid"
)

// Counter wants its status counted up to Want, one write per reconcile.
type Counter struct {
	controlloop.ObjectMeta
	Want, Have int
}

func (c *Counter) DeepCopy() *Counter {
	d := *c
	d.Labels = maps.Clone(c.Labels)
	d.OwnerReferences = slices.Clone(c.OwnerReferences)
	return &d
}

// delayedWatch is a memstore whose watch events reach the watcher late,
// each after its own delay, in order: a cache that lags its store. Its
// versions are the store's (the embedded Store's VersionComparer).
type delayedWatch[T controlloop.Object] struct {
	*memstore.Store[T]
	delays []time.Duration // used in turn
	next   *atomic.Int64
}

func (d delayedWatch[T]) Watch(ctx context.Context, opts controlloop.WatchOptions) (<-chan controlloop.Event[T], error) {
	in, err := d.Store.Watch(ctx, opts)
	if err != nil {
		return nil, err
	}
	out := make(chan controlloop.Event[T])
	go func() {
		defer close(out)
		defer func() {
			for range in { // until the store sees ctx end
			}
		}()
		for ev := range in {
			delay := d.delays[int(d.next.Add(1))%len(d.delays)]
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return
			}
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// staleWorld counts Counters up through a cache that lags, and records
// every reconcile that read its object older than a write its own
// request had made.
type staleWorld struct {
	client controlloop.Client[*Counter]
	cache  informer.Reader[*Counter]
	store  *memstore.Store[*Counter]

	mu        sync.Mutex                 // protects the fields below
	written   map[controlloop.Key]uint64 // the version of the request's last write
	staleRead []string
}

func (w *staleWorld) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	c, err := w.cache.Get(req)
	if err != nil {
		return reconcile.Result{}, nil
	}
	seen, _ := strconv.ParseUint(c.ResourceVersion, 10, 64)
	w.mu.Lock()
	if wrote := w.written[req]; seen < wrote {
		w.staleRead = append(w.staleRead, req.String()+" read version "+c.ResourceVersion+" after writing "+strconv.FormatUint(wrote, 10))
	}
	w.mu.Unlock()
	if c.Have >= c.Want {
		return reconcile.Result{}, nil
	}
	next := c.DeepCopy()
	next.Have++
	stored, err := w.client.UpdateStatus(ctx, next)
	if errors.Is(err, controlloop.ErrConflict) {
		return reconcile.Result{}, err // a stale read's write: refused, retried
	}
	if err != nil {
		return reconcile.Result{}, err
	}
	v, _ := strconv.ParseUint(stored.ResourceVersion, 10, 64)
	w.mu.Lock()
	w.written[req] = v
	w.mu.Unlock()
	// Come back soon, sooner than the lagging watch brings the write: the
	// next reconcile is the one that could act on a stale cache.
	return reconcile.Result{RequeueAfter: time.Millisecond}, nil
}

// runStaleWorld counts random Counters up over a store whose watch
// delivers each event after a random delay, with gating on or off, and
// returns the stale reads it saw. It fails rt if the Counters do not all
// reach their Want.
func runStaleWorld(rt *rapid.T, gating bool) []string {
	ctx := context.Background()
	store, err := memstore.New[*Counter](memstore.Options{})
	if err != nil {
		rt.Fatal(err)
	}
	delays := rapid.SliceOfN(rapid.Map(rapid.IntRange(0, 50), func(ms int) time.Duration { return time.Duration(ms) * time.Millisecond }), 1, 20).Draw(rt, "watch delays")
	lw := delayedWatch[*Counter]{Store: store, delays: delays, next: new(atomic.Int64)}
	inf, err := informer.New[*Counter](lw, informer.Options[*Counter]{Logger: quiet, Reflector: reflector.Options{Logger: quiet}})
	if err != nil {
		rt.Fatal(err)
	}
	w := &staleWorld{client: reconcile.TrackWrites[*Counter](store), cache: inf.Reader(), store: store, written: map[controlloop.Key]uint64{}}
	opts := reconcile.Options[reconcile.Request]{Name: "counter", Logger: quiet, Workers: rapid.IntRange(1, 3).Draw(rt, "workers")}
	if !gating {
		opts.StaleCacheTimeout = reconcile.NoStaleCacheGating
	}
	ctl, err := reconcile.New[reconcile.Request](w, opts)
	if err != nil {
		rt.Fatal(err)
	}
	if _, err := reconcile.Watch(ctl, inf, reconcile.ForObject[*Counter]()); err != nil {
		rt.Fatal(err)
	}
	var m reconcile.Manager
	m.AddCache(inf)
	m.AddController(ctl)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(runCtx) }()

	want := map[string]int{}
	for i := range rapid.IntRange(1, 3).Draw(rt, "counters") {
		name := "c" + strconv.Itoa(i)
		want[name] = rapid.IntRange(1, 6).Draw(rt, "want "+name)
		if _, err := store.Create(ctx, &Counter{ObjectMeta: controlloop.ObjectMeta{Name: name}, Want: want[name]}); err != nil {
			rt.Fatal(err)
		}
	}
	time.Sleep(time.Minute) // virtual: far past every delay, backoff and timeout
	synctest.Wait()
	cancel()
	if err := <-done; err != nil {
		rt.Fatal(err)
	}
	for name, n := range want {
		c, err := store.Get(ctx, controlloop.Key{Name: name})
		if err != nil || c.Have != n {
			rt.Fatalf("counter %s: have %v (err %v), want %d", name, c, err, n)
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.staleRead
}

// TestReadYourOwnWrites is issue 16's property: over a store whose watch
// lags by random delays, no reconcile ever reads its object at a version
// older than a write its own request made earlier, and every Counter is
// counted up exactly to its Want.
func TestReadYourOwnWrites(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		rapid.SyncTest(rt, func(rt *rapid.T) {
			if stale := runStaleWorld(rt, true); len(stale) > 0 {
				rt.Fatalf("with gating, reconciles read a cache older than their own write: %v", stale)
			}
		})
	})
}

// TestReadYourOwnWritesNeedsGating shows that TestReadYourOwnWrites can
// fail: with the gating off, the same worlds have reconciles that read a
// cache older than their own write.
func TestReadYourOwnWritesNeedsGating(t *testing.T) {
	stale := 0
	rapid.Check(t, func(rt *rapid.T) {
		rapid.SyncTest(rt, func(rt *rapid.T) {
			stale += len(runStaleWorld(rt, false))
		})
	})
	if stale == 0 {
		t.Error("with gating off, no reconcile read a cache older than its own write: the property test could not fail")
	}
}

// sharedScope is a memstore that claims a scope shared with other
// stores, as etcd's sources over one client share one.
type sharedScope[T controlloop.Object] struct{ *memstore.Store[T] }

func (sharedScope[T]) VersionScope() string { return "shared" }

// TestGatingWaitsOnlyOnTheWrittenType: in a scope shared by several
// sources, a write of one type does not hold a request back on a cache of
// another type, whose version moves only with its own source (it would
// until the timeout).
func TestGatingWaitsOnlyOnTheWrittenType(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		counters, err := memstore.New[*Counter](memstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		widgets, err := memstore.New[*Widget](memstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 5 { // the widgets' version runs ahead of the counters'
			if _, err := widgets.Create(ctx, &Widget{ObjectMeta: controlloop.ObjectMeta{Name: "w" + strconv.Itoa(i)}}); err != nil {
				t.Fatal(err)
			}
		}
		inf, err := informer.New[*Counter](sharedScope[*Counter]{counters}, informer.Options[*Counter]{Logger: quiet, Reflector: reflector.Options{Logger: quiet}})
		if err != nil {
			t.Fatal(err)
		}
		client := reconcile.TrackWrites[*Widget](sharedScope[*Widget]{widgets})
		var times []time.Time
		ctl, err := reconcile.New[reconcile.Request](reconcile.Func[reconcile.Request](func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
			times = append(times, time.Now())
			if len(times) > 1 {
				return reconcile.Result{}, nil
			}
			w, err := widgets.Get(ctx, controlloop.Key{Name: "w0"})
			if err != nil {
				return reconcile.Result{}, err
			}
			_, err = client.UpdateStatus(ctx, w)
			return reconcile.Result{RequeueAfter: time.Millisecond}, err
		}), reconcile.Options[reconcile.Request]{Name: "types", Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := reconcile.Watch(ctl, inf, reconcile.ForObject[*Counter]()); err != nil {
			t.Fatal(err)
		}
		stop := runLoop(inf, ctl)
		defer stop()
		if _, err := counters.Create(ctx, &Counter{ObjectMeta: controlloop.ObjectMeta{Name: "c"}}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if len(times) < 2 {
			t.Fatalf("%d reconciles, want the requeue too", len(times))
		}
		if d := times[1].Sub(times[0]); d > time.Second {
			t.Errorf("the requeue came %v after the write of another type: held back on a cache that cannot show it", d)
		}
	})
}

// TestGatingTimeout: a request whose write its cache never shows (the
// informer's selector excludes it, and the store sends no bookmarks) is
// held for Options.StaleCacheTimeout, counted as skipped, then reconciled
// anyway, counted as timed out.
func TestGatingTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		store, err := memstore.New[*Counter](memstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		inf, err := informer.New[*Counter](store, informer.Options[*Counter]{Logger: quiet, Reflector: reflector.Options{Logger: quiet, Selector: controlloop.Selector{Namespace: "seen"}}})
		if err != nil {
			t.Fatal(err)
		}
		client := reconcile.TrackWrites[*Counter](store)
		reg := prometheus.NewRegistry()
		m, err := metrics.NewControllerProvider(reg)
		if err != nil {
			t.Fatal(err)
		}
		var times []time.Time
		ctl, err := reconcile.New[reconcile.Request](reconcile.Func[reconcile.Request](func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
			times = append(times, time.Now())
			if len(times) > 1 {
				return reconcile.Result{}, nil
			}
			_, err := client.Create(ctx, &Counter{ObjectMeta: controlloop.ObjectMeta{Namespace: "unseen", Name: "x"}})
			return reconcile.Result{RequeueAfter: time.Millisecond}, err
		}), reconcile.Options[reconcile.Request]{Name: "timeout", Logger: quiet, StaleCacheTimeout: 3 * time.Second, Metrics: m})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := reconcile.Watch(ctl, inf, reconcile.ForObject[*Counter]()); err != nil {
			t.Fatal(err)
		}
		stop := runLoop(inf, ctl)
		defer stop()
		if _, err := store.Create(ctx, &Counter{ObjectMeta: controlloop.ObjectMeta{Namespace: "seen", Name: "c"}}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if len(times) != 2 {
			t.Fatalf("%d reconciles, want 2", len(times))
		}
		if d := times[1].Sub(times[0]); d < 3*time.Second || d > 4*time.Second {
			t.Errorf("the held request ran %v after its write, want the 3s timeout", d)
		}
		count := func(name string) float64 {
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			for _, mf := range mfs {
				if mf.GetName() == name {
					return mf.GetMetric()[0].GetCounter().GetValue()
				}
			}
			return -1
		}
		if n := count("stale_sync_skips_total"); n < 1 {
			t.Errorf("stale_sync_skips_total = %v, want the hold counted", n)
		}
		if n := count("controlloop_stale_sync_timeouts_total"); n != 1 {
			t.Errorf("controlloop_stale_sync_timeouts_total = %v, want 1", n)
		}
	})
}
