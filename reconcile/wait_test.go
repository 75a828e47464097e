package reconcile_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/reconcile"
	"github.com/controlloop/controlloop/reflector"
	"github.com/controlloop/controlloop/workqueue"
	"pgregory.net/rapid"
)

// waitWorld reconciles Counters, failing when told to, and logs the cache
// version each successful reconcile read.
type waitWorld struct {
	inf *informer.Informer[*Counter]

	mu        sync.Mutex // protects the fields below
	fail      int        // the next this many reconciles fail
	terminal  bool       // and fail terminally
	succeeded map[controlloop.Key][]uint64
}

func (w *waitWorld) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	v, _ := w.inf.AppliedVersion() // at least the version the controller noted
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fail > 0 {
		w.fail--
		err := errors.New("injected failure")
		if w.terminal {
			err = reconcile.TerminalError(err)
		}
		return reconcile.Result{}, err
	}
	n, _ := strconv.ParseUint(v, 10, 64)
	w.succeeded[req] = append(w.succeeded[req], n)
	return reconcile.Result{}, nil
}

// sawAtLeast reports whether a successful reconcile of key read v or newer.
func (w *waitWorld) sawAtLeast(key controlloop.Key, v uint64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range w.succeeded[key] {
		if s >= v {
			return true
		}
	}
	return false
}

// TestWaitUntilReconciled is issue 16's waiting property: under random
// writes and reconcile failures, WaitUntilReconciled(key, v) never returns
// nil before a successful reconcile of key has read the cache at v or
// newer, and once the failures stop every waiter returns (no lost
// wake-up).
func TestWaitUntilReconciled(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		rapid.SyncTest(rt, checkWaitUntilReconciled)
	})
}

func checkWaitUntilReconciled(rt *rapid.T) {
	ctx := context.Background()
	store, err := memstore.New[*Counter](memstore.Options{})
	if err != nil {
		rt.Fatal(err)
	}
	inf, err := informer.New[*Counter](store, informer.Options[*Counter]{Logger: quiet, Reflector: reflector.Options{Logger: quiet}})
	if err != nil {
		rt.Fatal(err)
	}
	w := &waitWorld{inf: inf, succeeded: map[controlloop.Key][]uint64{}}
	limiter, err := workqueue.NewItemExponential[reconcile.Request](time.Millisecond, time.Second)
	if err != nil {
		rt.Fatal(err)
	}
	ctl, err := reconcile.New[reconcile.Request](w, reconcile.Options[reconcile.Request]{
		Name: "wait", Logger: quiet, Workers: rapid.IntRange(1, 3).Draw(rt, "workers"),
		// Resyncs re-deliver cached objects at old versions.
		SyncPeriod:  rapid.SampledFrom([]time.Duration{reconcile.NoSync, 30 * time.Millisecond, 300 * time.Millisecond}).Draw(rt, "sync period"),
		RateLimiter: limiter, // retries within a second: the wait below stays short
	})
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

	keys := []controlloop.Key{{Name: "a"}, {Name: "b"}}
	latest := map[controlloop.Key]string{}
	for _, k := range keys {
		c, err := store.Create(ctx, &Counter{ObjectMeta: controlloop.ObjectMeta{Name: k.Name}})
		if err != nil {
			rt.Fatal(err)
		}
		latest[k] = c.ResourceVersion
	}
	var waiters sync.WaitGroup
	var mu sync.Mutex // protects early, pending
	var early []string
	pending := 0
	wait := func(key controlloop.Key, version string) {
		v, _ := strconv.ParseUint(version, 10, 64)
		mu.Lock()
		pending++
		mu.Unlock()
		waiters.Go(func() {
			err := ctl.WaitUntilReconciled(ctx, key, version)
			mu.Lock()
			defer mu.Unlock()
			pending--
			if err == nil && !w.sawAtLeast(key, v) {
				early = append(early, key.String()+"@"+version)
			}
		})
	}
	steps := rapid.IntRange(1, 30).Draw(rt, "steps")
	for range steps {
		key := rapid.SampledFrom(keys).Draw(rt, "key")
		switch rapid.IntRange(0, 3).Draw(rt, "op") {
		case 0: // write
			c, err := store.Get(ctx, key)
			if err != nil {
				rt.Fatal(err)
			}
			c.Want++
			if c, err = store.Update(ctx, c); err != nil {
				rt.Fatal(err)
			}
			latest[key] = c.ResourceVersion
		case 1: // wait for the latest write
			wait(key, latest[key])
		case 2: // fail the next reconciles
			w.mu.Lock()
			w.fail = rapid.IntRange(0, 4).Draw(rt, "failures")
			w.mu.Unlock()
		case 3:
			time.Sleep(time.Duration(rapid.IntRange(0, 20).Draw(rt, "sleep ms")) * time.Millisecond)
		}
	}
	// The failures stop; touching each key brings a reconcile that
	// succeeds at its latest version.
	w.mu.Lock()
	w.fail = 0
	w.mu.Unlock()
	time.Sleep(5 * time.Second) // virtual: past every backoff
	synctest.Wait()
	mu.Lock()
	if pending > 0 {
		rt.Errorf("%d waiters still wait after every key was reconciled at its latest version", pending)
	}
	if len(early) > 0 {
		rt.Errorf("WaitUntilReconciled returned before a successful reconcile read the version: %v", early)
	}
	mu.Unlock()
	cancel()
	if err := <-done; err != nil {
		rt.Fatal(err)
	}
	if pending > 0 {
		return // the waiters wait for ctx, which is Background: leave them to the bubble's end
	}
	waiters.Wait()
}

// startWaitWorld runs a Counter controller whose next fail reconciles
// fail (terminally, if terminal), until the test ends.
func startWaitWorld(t *testing.T, fail int, terminal bool) (*memstore.Store[*Counter], *reconcile.Controller[reconcile.Request]) {
	store, err := memstore.New[*Counter](memstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	inf, err := informer.New[*Counter](store, informer.Options[*Counter]{Logger: quiet, Reflector: reflector.Options{Logger: quiet}})
	if err != nil {
		t.Fatal(err)
	}
	w := &waitWorld{inf: inf, succeeded: map[controlloop.Key][]uint64{}, fail: fail, terminal: terminal}
	ctl, err := reconcile.New[reconcile.Request](w, reconcile.Options[reconcile.Request]{Name: "errors", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reconcile.Watch(ctl, inf, reconcile.ForObject[*Counter]()); err != nil {
		t.Fatal(err)
	}
	var m reconcile.Manager
	m.AddCache(inf)
	m.AddController(ctl)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = m.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return store, ctl
}

// TestWaitUntilReconciledErrors: failures that are retried are returned,
// joined with ctx's error, when ctx ends; a terminal failure at the
// version is returned at once; a version the source cannot have made and
// a controller reading no ordered cache are refused.
func TestWaitUntilReconciledErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("retried", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			store, ctl := startWaitWorld(t, 1<<30, false)
			if err := ctl.WaitUntilReconciled(ctx, controlloop.Key{Name: "a"}, "x"); !errors.Is(err, controlloop.ErrInvalid) {
				t.Errorf("version \"x\": err = %v, want ErrInvalid", err)
			}
			a, err := store.Create(ctx, &Counter{ObjectMeta: controlloop.ObjectMeta{Name: "a"}})
			if err != nil {
				t.Fatal(err)
			}
			waitCtx, stop := context.WithTimeout(ctx, time.Minute)
			defer stop()
			err = ctl.WaitUntilReconciled(waitCtx, controlloop.KeyOf(a), a.ResourceVersion)
			if !errors.Is(err, context.DeadlineExceeded) || err.Error() == context.DeadlineExceeded.Error() {
				t.Errorf("reconciles keep failing: err = %v, want the deadline joined with the last failure", err)
			}
		})
	})
	t.Run("terminal", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			store, ctl := startWaitWorld(t, 1, true)
			b, err := store.Create(ctx, &Counter{ObjectMeta: controlloop.ObjectMeta{Name: "b"}})
			if err != nil {
				t.Fatal(err)
			}
			if err := ctl.WaitUntilReconciled(ctx, controlloop.KeyOf(b), b.ResourceVersion); !errors.Is(err, reconcile.ErrTerminal) {
				t.Errorf("terminal failure: err = %v, want it", err)
			}
		})
	})
	t.Run("unordered", func(t *testing.T) {
		ctl, err := reconcile.New[reconcile.Request](reconcile.Func[reconcile.Request](func(context.Context, reconcile.Request) (reconcile.Result, error) {
			return reconcile.Result{}, nil
		}), reconcile.Options[reconcile.Request]{Name: "none", Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		if err := ctl.WaitUntilReconciled(ctx, controlloop.Key{Name: "a"}, "1"); !errors.Is(err, controlloop.ErrInvalid) {
			t.Errorf("with no ordered cache: err = %v, want ErrInvalid", err)
		}
	})
}

// TestWaitUntilReconciledForgetsWithinBound: a controller remembers the
// outcomes of a bounded number of requests, so that requests that come and
// go do not grow it without end, and never forgets one that a waiter waits
// for.
func TestWaitUntilReconciledForgetsWithinBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		store, ctl := startWaitWorld(t, 0, false)
		remembered := reconcile.LimitOutcomes(ctl, 8)
		waited := make(chan error, 1)
		go func() { waited <- ctl.WaitUntilReconciled(ctx, controlloop.Key{Name: "w"}, "1") }()
		synctest.Wait()
		for i := range 40 {
			if _, err := store.Create(ctx, &Counter{ObjectMeta: controlloop.ObjectMeta{Name: fmt.Sprint("c", i)}}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Second) // virtual: the controller syncs and reconciles it
		}
		if n := remembered(); n > 8 {
			t.Errorf("after 40 requests reconciled: %d remembered, want at most 8", n)
		}
		if _, err := store.Create(ctx, &Counter{ObjectMeta: controlloop.ObjectMeta{Name: "w"}}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		select {
		case err := <-waited:
			if err != nil {
				t.Errorf("the waiter on w: %v", err)
			}
		default:
			t.Error("the waiter on w still waits after w was reconciled: its request was forgotten")
		}
	})
}
