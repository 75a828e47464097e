package reconcile_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop/reconcile"
	"github.com/controlloop/controlloop/workqueue"
)

// fixedDelay is a rate limiter that always waits d and keeps no history.
type fixedDelay struct{ d time.Duration }

func (f fixedDelay) When(string) time.Duration { return f.d }
func (fixedDelay) Forget(string)               {}
func (fixedDelay) NumRequeues(string) int      { return 0 }

// TestRequeuePriority checks that a requeue, after an error or after
// RequeueAfter, goes in at Result.Priority: a request requeued at a high
// priority overtakes requests that were queued before it became ready.
func TestRequeuePriority(t *testing.T) {
	for _, tc := range []struct {
		name   string
		result reconcile.Result
		err    error
	}{
		{"error", reconcile.Result{Priority: 10}, errors.New("boom")},
		{"RequeueAfter", reconcile.Result{RequeueAfter: time.Second, Priority: 10}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var mu sync.Mutex
				var order []string
				requeued := false
				r := reconcile.Func[string](func(_ context.Context, req string) (reconcile.Result, error) {
					mu.Lock()
					order = append(order, req)
					first := req == "a" && !requeued
					if first {
						requeued = true
					}
					mu.Unlock()
					switch {
					case first:
						return tc.result, tc.err
					case req == "block":
						time.Sleep(2 * time.Second) // a becomes ready meanwhile
					}
					return reconcile.Result{}, nil
				})
				c := newController(t, r, reconcile.Options[string]{RateLimiter: fixedDelay{time.Second}})
				stop := run(c)
				c.Queue().Add("a")
				synctest.Wait() // a reconciled, requeued for 1s from now
				for _, req := range []string{"block", "b", "c"} {
					c.Queue().Add(req)
				}
				time.Sleep(5 * time.Second)
				if err := stop(); err != nil {
					t.Fatal(err)
				}
				mu.Lock()
				defer mu.Unlock()
				if want := []string{"a", "block", "a", "b", "c"}; !slices.Equal(order, want) {
					t.Fatalf("reconciled %v, want %v: the requeue at priority 10 goes first", order, want)
				}
			})
		})
	}
}

// TestForgetResetsBackoff checks that success and a terminal error clear a
// request's failure history: its next failure retries after the base
// delay again.
func TestForgetResetsBackoff(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name  string
		third error // what the third attempt returns
	}{
		{"success", nil},
		{"terminal error", reconcile.TerminalError(errors.New("bad spec"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := newRecorder(func(_ string, n int) (reconcile.Result, error) {
					switch n {
					case 3:
						return reconcile.Result{}, tc.third
					case 5:
						return reconcile.Result{}, nil
					}
					return reconcile.Result{}, errors.New("flaky")
				})
				limiter, err := workqueue.NewItemExponential[string](10*ms, time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				c := newController(t, rec, reconcile.Options[string]{RateLimiter: limiter})
				stop := run(c)
				c.Queue().Add("a") // fails at 0 and 10ms, then the third attempt at 30ms
				time.Sleep(time.Second)
				c.Queue().Add("a") // fails at 1s; retried after the base 10ms, not 40ms
				time.Sleep(time.Second)
				if err := stop(); err != nil {
					t.Fatal(err)
				}
				if got := rec.times("a"); !equalDurations(got, 0, 10*ms, 30*ms, time.Second, time.Second+10*ms) {
					t.Fatalf("reconciled at %v, want [0 10ms 30ms 1s 1.01s]", got)
				}
			})
		})
	}
}

// TestAddedDuringReconcileRunsAgain checks that a request added while it
// is being reconciled is reconciled again afterwards, once.
func TestAddedDuringReconcileRunsAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c *reconcile.Controller[string]
		rec := newRecorder(func(req string, n int) (reconcile.Result, error) {
			if n == 1 {
				c.Queue().Add(req) // twice: merged into one
				c.Queue().Add(req)
				time.Sleep(time.Second)
			}
			return reconcile.Result{}, nil
		})
		c = newController(t, rec, reconcile.Options[string]{Workers: 4})
		stop := run(c)
		c.Queue().Add("a")
		time.Sleep(5 * time.Second)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if got := rec.times("a"); !equalDurations(got, 0, time.Second) {
			t.Fatalf("reconciled at %v, want [0 1s]: again after the first, not beside it", got)
		}
	})
}

// observations is a MetricsProvider that records what the controller
// reports.
type observations struct {
	mu      sync.Mutex
	obs     []reconcile.Observation // in order
	started atomic.Int32
	workers int
}

func (o *observations) ForQueue(string, func() workqueue.InFlight) workqueue.QueueMetrics { return nil }

func (o *observations) ForController(_ string, workers int) reconcile.ControllerMetrics {
	o.workers = workers
	return o
}

func (o *observations) ReconcileStarted() { o.started.Add(1) }

func (o *observations) ReconcileFinished(ob reconcile.Observation) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.obs = append(o.obs, ob)
}

// TestObservations checks what each outcome reports to the metrics: the
// outcome table's result label, and the terminal, panic and timeout marks
// (a timed-out reconcile counts as a timeout whatever it returns).
func TestObservations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := reconcile.Func[string](func(ctx context.Context, req string) (reconcile.Result, error) {
			switch req {
			case "requeue":
				return reconcile.Result{RequeueAfter: time.Hour}, nil
			case "error":
				return reconcile.Result{}, errors.New("boom")
			case "terminal":
				return reconcile.Result{}, reconcile.TerminalError(nil)
			case "panic":
				panic("boom")
			case "timeout-nil":
				<-ctx.Done()
				return reconcile.Result{}, nil
			}
			return reconcile.Result{}, nil
		})
		m := &observations{}
		c := newController(t, r, reconcile.Options[string]{
			Metrics: m, Timeout: time.Second, RateLimiter: fixedDelay{time.Hour},
		})
		stop := run(c)
		reqs := []string{"success", "requeue", "error", "terminal", "panic", "timeout-nil"}
		for _, req := range reqs { // one at a time: observed in this order
			c.Queue().Add(req)
			time.Sleep(2 * time.Second)
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		want := map[string]reconcile.Observation{
			"success":     {Outcome: reconcile.OutcomeSuccess},
			"requeue":     {Outcome: reconcile.OutcomeRequeueAfter},
			"error":       {Outcome: reconcile.OutcomeError},
			"terminal":    {Outcome: reconcile.OutcomeError, Terminal: true},
			"panic":       {Outcome: reconcile.OutcomeError, Panicked: true},
			"timeout-nil": {Outcome: reconcile.OutcomeSuccess, TimedOut: true, Duration: time.Second},
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		if len(m.obs) != len(reqs) {
			t.Fatalf("observed %d reconciles, want %d: %+v", len(m.obs), len(reqs), m.obs)
		}
		for i, req := range reqs {
			if got := m.obs[i]; got != want[req] {
				t.Errorf("%s: observed %+v, want %+v", req, got, want[req])
			}
		}
		if n := m.started.Load(); n != 6 || m.workers != 1 {
			t.Errorf("started %d reconciles with %d workers, want 6 with 1", n, m.workers)
		}
	})
}

// TestWorkers checks that Options.Workers reconciles run at once, and that
// the default is one.
func TestWorkers(t *testing.T) {
	for _, tc := range []struct {
		workers, want int
	}{{0, 1}, {3, 3}} {
		t.Run("workers="+itoa(tc.workers), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var inFlight, most atomic.Int32
				r := reconcile.Func[string](func(context.Context, string) (reconcile.Result, error) {
					n := inFlight.Add(1)
					for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
					}
					time.Sleep(time.Second)
					inFlight.Add(-1)
					return reconcile.Result{}, nil
				})
				c := newController(t, r, reconcile.Options[string]{Workers: tc.workers})
				stop := run(c)
				for _, req := range []string{"a", "b", "c", "d", "e"} {
					c.Queue().Add(req)
				}
				time.Sleep(10 * time.Second)
				if err := stop(); err != nil {
					t.Fatal(err)
				}
				if got := int(most.Load()); got != tc.want {
					t.Errorf("Workers %d: at most %d reconciles at once, want %d", tc.workers, got, tc.want)
				}
			})
		})
	}
}

// TestDefaults checks the documented defaults: CacheSyncTimeout 2 minutes,
// ShutdownGracePeriod 30 seconds, LowPriority -100.
func TestDefaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		noop := reconcile.Func[string](func(context.Context, string) (reconcile.Result, error) { return reconcile.Result{}, nil })
		c := newController(t, noop, reconcile.Options[string]{})
		if got := c.LowPriority(); got != -100 {
			t.Errorf("LowPriority() = %d, want -100", got)
		}
		c.WaitForSync(func() bool { return false })
		start := time.Now()
		if err := c.Run(context.Background()); !errors.Is(err, reconcile.ErrCacheSyncTimeout) || time.Since(start) != 2*time.Minute {
			t.Errorf("Run = %v after %v, want ErrCacheSyncTimeout after 2m", err, time.Since(start))
		}

		slow := newController(t, reconcile.Func[string](func(ctx context.Context, _ string) (reconcile.Result, error) {
			<-ctx.Done()
			return reconcile.Result{}, nil
		}), reconcile.Options[string]{})
		stop := run(slow)
		slow.Queue().Add("a")
		synctest.Wait()
		start = time.Now()
		if err := stop(); err != nil || time.Since(start) != 30*time.Second {
			t.Errorf("Run = %v after %v, want nil after the 30s grace period", err, time.Since(start))
		}
	})
}

// TestStoppedWhileSyncingIsClean checks that a Run whose context ends
// while it waits for its caches returns nil, not ErrCacheSyncTimeout.
func TestStoppedWhileSyncingIsClean(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newController(t, newRecorder(nil), reconcile.Options[string]{})
		c.WaitForSync(func() bool { return false })
		stop := run(c)
		time.Sleep(time.Second)
		if err := stop(); err != nil {
			t.Fatalf("Run stopped while syncing = %v, want nil", err)
		}
	})
}
