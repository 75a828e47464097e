package reconciletest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/reconcile"
	"github.com/controlloop/controlloop/reconcile/reconciletest"
	"github.com/controlloop/controlloop/reflector"
	"pgregory.net/rapid"
)

// TestSteady: a parent's children are created, and Steady returns once
// the controller is done and the caches have caught up.
func TestSteady(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := reconciletest.New(t, reconciletest.Options{})
		s := newSystem(t, w, correct, 2)
		if _, err := s.parents.Create(context.Background(), &Parent{ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: "a"}, Replicas: 3}); err != nil {
			t.Fatal(err)
		}
		if err := w.Steady(); err != nil {
			t.Fatal(err)
		}
		if err := s.converged(); err != nil {
			t.Fatal(err)
		}
	})
}

// loop is a controller over Counters: a Counter asks to be reconciled
// again after Every, Times times (forever if Times is negative), or to
// fail every time.
type loop struct {
	w     *reconciletest.World
	store *reconciletest.Store[*Counter]

	mu   sync.Mutex // protects runs
	runs map[controlloop.Key]int
}

type Counter struct {
	controlloop.ObjectMeta
	Every time.Duration
	Times int
	Fail  bool
}

func newLoop(t *testing.T, opts reconciletest.Options) *loop {
	w := reconciletest.New(t, opts)
	l := &loop{w: w, store: reconciletest.NewStore[*Counter](w, "counters", memstore.Options{}), runs: map[controlloop.Key]int{}}
	inf, err := informer.New[*Counter](l.store.Client(), informer.Options[*Counter]{Logger: w.Logger(), Reflector: reflector.Options{Logger: w.Logger()}})
	if err != nil {
		t.Fatal(err)
	}
	ctl, err := reconcile.New(reconcile.Func[reconcile.Request](func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
		c, err := inf.Reader().Get(req)
		if err != nil {
			return reconcile.Result{}, nil
		}
		if c.Fail {
			return reconcile.Result{}, errors.New("always failing")
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.runs[req]++; c.Times >= 0 && l.runs[req] > c.Times {
			return reconcile.Result{}, nil
		}
		return reconcile.Result{RequeueAfter: c.Every}, nil
	}), reconcile.Options[reconcile.Request]{Name: "loop", Logger: w.Logger(), Tracer: w.Tracer()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reconcile.Watch(ctl, inf, reconcile.ForObject[*Counter]()); err != nil {
		t.Fatal(err)
	}
	var m reconcile.Manager
	m.AddCache(inf)
	m.AddController(ctl)
	w.Start(&m)
	return l
}

func (l *loop) create(t *testing.T, c *Counter) {
	t.Helper()
	c.Namespace = "ns"
	if _, err := l.store.Create(context.Background(), c); err != nil {
		t.Fatal(err)
	}
}

// TestSteadyWaitsOutDelays: a request that asks to run again in an hour,
// twice: Steady returns once it has, two hours of virtual time later, at
// once in real time.
func TestSteadyWaitsOutDelays(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLoop(t, reconciletest.Options{SteadyTimeout: 3 * time.Hour})
		l.create(t, &Counter{ObjectMeta: controlloop.ObjectMeta{Name: "x"}, Every: time.Hour, Times: 2})
		start := time.Now()
		if err := l.w.Steady(); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < 2*time.Hour || d > 2*time.Hour+time.Second {
			t.Fatalf("Steady took %v of virtual time, want 2h", d)
		}
		l.mu.Lock()
		n := l.runs[controlloop.Key{Namespace: "ns", Name: "x"}]
		l.mu.Unlock()
		if n != 3 {
			t.Fatalf("x was reconciled %d times, want 3", n)
		}
	})
}

// TestNotSteady: a RequeueAfter loop and a hot error loop never get
// steady; Steady says so after Options.SteadyTimeout of virtual time,
// naming the requests that kept it busy.
func TestNotSteady(t *testing.T) {
	for _, tc := range []struct {
		name string
		x    Counter
		says []string
	}{
		{"requeueAfterLoop", Counter{Every: time.Second, Times: -1}, []string{"controller loop: ns/x waiting (due in"}},
		{"hotErrorLoop", Counter{Fail: true}, []string{"controller loop: ns/x waiting", "retries"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := newLoop(t, reconciletest.Options{SteadyTimeout: time.Minute})
				x := tc.x
				x.Name = "x"
				l.create(t, &x)
				l.create(t, &Counter{ObjectMeta: controlloop.ObjectMeta{Name: "quiet"}})
				start := time.Now()
				err := l.w.Steady()
				if !errors.Is(err, reconciletest.ErrNotSteady) {
					t.Fatalf("Steady = %v, want ErrNotSteady", err)
				}
				for _, s := range tc.says {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("Steady's error %q does not say %q", err, s)
					}
				}
				if strings.Contains(err.Error(), "quiet") {
					t.Errorf("Steady's error %q names a request that is done", err)
				}
				if d := time.Since(start); d < time.Minute || d > time.Minute+time.Second {
					t.Errorf("Steady gave up after %v of virtual time, want 1m", d)
				}
			})
		})
	}
}

// TestCorrectControllerPasses: the correct controller keeps both
// invariants under every fault the kit injects by default.
func TestCorrectControllerPasses(t *testing.T) {
	reconciletest.Check(t, property(correct))
}

func property(b bug) reconciletest.Property[*system] {
	return reconciletest.Property[*system]{
		Setup: func(t *rapid.T, w *reconciletest.World) *system {
			return newSystem(t, w, b, rapid.IntRange(1, 2).Draw(t, "workers"))
		},
		Actions:   actions(),
		Always:    (*system).neverTooMany,
		Invariant: (*system).converged,
	}
}

// fatalRecorder is a reconciletest.TB that records Fatalf.
type fatalRecorder struct {
	testing.TB
	fatal []string
}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.fatal = append(r.fatal, fmt.Sprintf(format, args...))
}

// TestNewRefuses: outside a synctest bubble, or with invalid options,
// New fails the test with a clear message.
func TestNewRefuses(t *testing.T) {
	rec := &fatalRecorder{TB: t}
	reconciletest.New(rec, reconciletest.Options{})
	if len(rec.fatal) != 1 || !strings.Contains(rec.fatal[0], "not in a testing/synctest bubble") {
		t.Errorf("New outside a bubble reported %q", rec.fatal)
	}
	synctest.Test(t, func(t *testing.T) {
		rec := &fatalRecorder{TB: t}
		reconciletest.New(rec, reconciletest.Options{SteadyTimeout: -time.Second})
		if len(rec.fatal) != 1 || !strings.Contains(rec.fatal[0], "reconciletest: Options.SteadyTimeout is -1s: must not be negative") {
			t.Errorf("New with a negative SteadyTimeout reported %q", rec.fatal)
		}
	})
}

// TestSteadyReportsAStoppedManager: a Manager that fails makes Steady
// return its error at once, and Stop too.
func TestSteadyReportsAStoppedManager(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := reconciletest.New(t, reconciletest.Options{})
		var m reconcile.Manager
		m.AddController(nil)
		w.Start(&m)
		start := time.Now()
		err := w.Steady()
		if !errors.Is(err, controlloop.ErrInvalid) || time.Since(start) > 0 {
			t.Fatalf("Steady = %v after %v, want the Manager's ErrInvalid at once", err, time.Since(start))
		}
		if err := w.Stop(); !errors.Is(err, controlloop.ErrInvalid) {
			t.Fatalf("Stop = %v, want the Manager's ErrInvalid", err)
		}
	})
}

// TestSteadyAfterStop: Steady on a stopped World says so.
func TestSteadyAfterStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLoop(t, reconciletest.Options{})
		if err := l.w.Stop(); err != nil {
			t.Fatal(err)
		}
		if err := l.w.Steady(); err == nil || !strings.Contains(err.Error(), "the World has stopped") {
			t.Fatalf("Steady after Stop = %v", err)
		}
	})
}

// TestInvalidFaults: a Faults set beyond AllFaults, or NoFaults with
// another fault, fails Check at once.
func TestInvalidFaults(t *testing.T) {
	for _, set := range []reconciletest.Faults{1 << 20, reconciletest.NoFaults | reconciletest.BreakWatches} {
		rec := &fatalRecorder{TB: t}
		p := property(0)
		p.Faults = set
		reconciletest.CheckTB(t, rec, p)
		if len(rec.fatal) != 1 || !strings.Contains(rec.fatal[0], "Property.Faults") {
			t.Errorf("Faults %#x: Check reported %q", uint32(set), rec.fatal)
		}
	}
}

// TestSteadyWithReplicas: two replicas of one controller, one leading.
// The standby's queue fills from its cache and stays full; Steady does
// not wait for it, and returns once the leader has reconciled, also after
// leadership moved.
func TestSteadyWithReplicas(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := reconciletest.New(t, reconciletest.Options{SteadyTimeout: time.Minute})
		s := reconciletest.NewStore[*Counter](w, "counters", memstore.Options{})
		var mu sync.Mutex
		runs := map[string]int{} // by replica
		for _, name := range []string{"a", "b"} {
			inf, err := informer.New[*Counter](s.Client(), informer.Options[*Counter]{Logger: w.Logger()})
			if err != nil {
				t.Fatal(err)
			}
			ctl, err := reconcile.New(reconcile.Func[reconcile.Request](func(context.Context, reconcile.Request) (reconcile.Result, error) {
				mu.Lock()
				runs[name]++
				mu.Unlock()
				return reconcile.Result{}, nil
			}), reconcile.Options[reconcile.Request]{Name: "loop-" + name, Logger: w.Logger()})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := reconcile.Watch(ctl, inf, reconcile.ForObject[*Counter]()); err != nil {
				t.Fatal(err)
			}
			m := &reconcile.Manager{LeaderElector: w.Elector(name)}
			m.AddCache(inf)
			m.AddController(ctl)
			w.Start(m)
		}
		ctx := context.Background()
		before := 0
		for _, name := range []string{"x", "y"} {
			if _, err := s.Create(ctx, &Counter{ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: name}}); err != nil {
				t.Fatal(err)
			}
			if err := w.Steady(); err != nil {
				t.Fatalf("after creating %s: %v", name, err)
			}
			mu.Lock()
			total := runs["a"] + runs["b"]
			mu.Unlock()
			if total == before {
				t.Fatalf("steady after creating %s, and it was not reconciled", name)
			}
			before = total
			w.LoseLeadership(time.Second)
		}
	})
}
