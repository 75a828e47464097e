package reconcile_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/reconcile"
	"github.com/controlloop/controlloop/workqueue"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// recorder is a reconciler that logs when each request was reconciled and
// answers from a script.
type recorder struct {
	mu     sync.Mutex
	calls  map[string][]time.Duration // request -> times since start
	start  time.Time
	answer func(req string, n int) (reconcile.Result, error)
}

func newRecorder(answer func(req string, n int) (reconcile.Result, error)) *recorder {
	return &recorder{calls: map[string][]time.Duration{}, start: time.Now(), answer: answer}
}

func (r *recorder) Reconcile(ctx context.Context, req string) (reconcile.Result, error) {
	r.mu.Lock()
	r.calls[req] = append(r.calls[req], time.Since(r.start))
	n := len(r.calls[req])
	r.mu.Unlock()
	return r.answer(req, n)
}

func (r *recorder) times(req string) []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.calls[req]...)
}

func newController(t *testing.T, r reconcile.Reconciler[string], opts reconcile.Options[string]) *reconcile.Controller[string] {
	t.Helper()
	if opts.Name == "" {
		opts.Name = "test"
	}
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	c, err := reconcile.New(r, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// run starts c and returns a function that stops it and returns Run's error.
func run(c interface{ Run(context.Context) error }) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx) }()
	return func() error { cancel(); return <-errc }
}

func equalDurations(got []time.Duration, want ...time.Duration) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

func TestOutcomes(t *testing.T) {
	ms := time.Millisecond
	cases := []struct {
		name   string
		answer func(n int) (reconcile.Result, error)
		want   []time.Duration // when the request was reconciled, within the first 1.9s
	}{
		{"success is not retried", func(int) (reconcile.Result, error) { return reconcile.Result{}, nil }, []time.Duration{0}},
		{"errors back off exponentially", func(int) (reconcile.Result, error) { return reconcile.Result{}, errors.New("boom") },
			// 10, 20, 40, 80, 160, 320, 640ms apart (the limiter below)
			[]time.Duration{0, 10 * ms, 30 * ms, 70 * ms, 150 * ms, 310 * ms, 630 * ms, 1270 * ms}},
		{"terminal errors are not retried", func(int) (reconcile.Result, error) {
			return reconcile.Result{}, reconcile.TerminalError(errors.New("bad spec"))
		}, []time.Duration{0}},
		{"RequeueAfter requeues after the delay", func(int) (reconcile.Result, error) {
			return reconcile.Result{RequeueAfter: 500 * ms}, nil
		}, []time.Duration{0, 500 * ms, 1000 * ms, 1500 * ms}},
		{"success forgets earlier failures", func(n int) (reconcile.Result, error) {
			if n == 3 {
				return reconcile.Result{RequeueAfter: 100 * ms}, nil // then fails again from the base delay
			}
			return reconcile.Result{}, errors.New("flaky")
		}, []time.Duration{0, 10 * ms, 30 * ms, 130 * ms, 140 * ms, 160 * ms, 200 * ms, 280 * ms, 440 * ms, 760 * ms, 1400 * ms}},
		{"RequeueAfter with an error is ignored", func(int) (reconcile.Result, error) {
			return reconcile.Result{RequeueAfter: time.Hour}, errors.New("boom")
		}, []time.Duration{0, 10 * ms, 30 * ms, 70 * ms, 150 * ms, 310 * ms, 630 * ms, 1270 * ms}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := newRecorder(func(_ string, n int) (reconcile.Result, error) { return tc.answer(n) })
				limiter, err := workqueue.NewItemExponential[string](10*ms, time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				c := newController(t, rec, reconcile.Options[string]{RateLimiter: limiter})
				stop := run(c)
				c.Queue().Add("a")
				time.Sleep(1900 * time.Millisecond)
				if err := stop(); err != nil {
					t.Fatal(err)
				}
				if got := rec.times("a"); !equalDurations(got, tc.want...) {
					t.Fatalf("reconciled at %v, want %v", got, tc.want)
				}
			})
		})
	}
}

func TestPanicIsRecoveredAndRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder(func(_ string, n int) (reconcile.Result, error) {
			if n == 1 {
				panic("nil map")
			}
			return reconcile.Result{}, nil
		})
		limiter, err := workqueue.NewItemExponential[string](time.Second, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		c := newController(t, rec, reconcile.Options[string]{RateLimiter: limiter})
		stop := run(c)
		c.Queue().Add("a")
		time.Sleep(5 * time.Second)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if got := rec.times("a"); !equalDurations(got, 0, time.Second) {
			t.Fatalf("reconciled at %v, want [0 1s]: a panic is an error and retried", got)
		}
	})
}

func TestTimeoutCancelsReconcile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var sawDeadline atomic.Bool
		r := reconcile.Func[string](func(ctx context.Context, _ string) (reconcile.Result, error) {
			<-ctx.Done()
			sawDeadline.Store(errors.Is(ctx.Err(), context.DeadlineExceeded))
			return reconcile.Result{}, reconcile.TerminalError(ctx.Err())
		})
		c := newController(t, r, reconcile.Options[string]{Timeout: 3 * time.Second})
		stop := run(c)
		start := time.Now()
		c.Queue().Add("a")
		time.Sleep(4 * time.Second)
		if !sawDeadline.Load() {
			t.Fatalf("the reconcile's context did not time out within %v", time.Since(start))
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestNeverConcurrentPerRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var inFlight [10]atomic.Int32
		var overlaps, total atomic.Int32
		r := reconcile.Func[int](func(ctx context.Context, req int) (reconcile.Result, error) {
			if inFlight[req].Add(1) != 1 {
				overlaps.Add(1)
			}
			time.Sleep(time.Millisecond)
			inFlight[req].Add(-1)
			total.Add(1)
			return reconcile.Result{}, nil
		})
		c, err := reconcile.New(r, reconcile.Options[int]{Name: "n", Workers: 8, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		stop := run(c)
		for i := range 1000 {
			c.Queue().Add(i % 10)
			if i%50 == 0 {
				time.Sleep(time.Millisecond / 2)
			}
		}
		time.Sleep(time.Second)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if overlaps.Load() != 0 {
			t.Fatalf("%d reconciles overlapped another of the same request", overlaps.Load())
		}
		if total.Load() < 10 {
			t.Fatalf("only %d reconciles ran", total.Load())
		}
	})
}

func TestShutdownLetsInFlightFinish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var finished atomic.Bool
		r := reconcile.Func[string](func(ctx context.Context, _ string) (reconcile.Result, error) {
			select {
			case <-time.After(5 * time.Second):
				finished.Store(true)
			case <-ctx.Done():
			}
			return reconcile.Result{}, nil
		})
		c := newController(t, r, reconcile.Options[string]{ShutdownGracePeriod: 10 * time.Second})
		stop := run(c)
		c.Queue().Add("a")
		time.Sleep(time.Second)
		start := time.Now()
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if !finished.Load() || time.Since(start) != 4*time.Second {
			t.Fatalf("Run returned after %v, finished=%v; want the in-flight reconcile to finish (4s)", time.Since(start), finished.Load())
		}
	})
}

func TestShutdownGracePeriodCancels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := reconcile.Func[string](func(ctx context.Context, _ string) (reconcile.Result, error) {
			<-ctx.Done() // runs until cancelled
			return reconcile.Result{}, ctx.Err()
		})
		c := newController(t, r, reconcile.Options[string]{ShutdownGracePeriod: 10 * time.Second})
		stop := run(c)
		c.Queue().Add("a")
		synctest.Wait()
		start := time.Now()
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != 10*time.Second {
			t.Fatalf("Run returned after %v, want the 10s grace period", d)
		}
	})
}

// TestShutdownTimeoutWhenContextIgnored (issue 12, item 2): with a
// reconciler that ignores its context, Run returns ErrShutdownTimeout after
// one grace period plus min(grace, 1s), not twice the grace period.
func TestShutdownTimeoutWhenContextIgnored(t *testing.T) {
	for _, tc := range []struct{ grace, want time.Duration }{
		{10 * time.Second, 11 * time.Second},
		{500 * time.Millisecond, time.Second},
	} {
		t.Run(tc.grace.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				r := reconcile.Func[string](func(ctx context.Context, _ string) (reconcile.Result, error) {
					<-release // ignores ctx
					return reconcile.Result{}, nil
				})
				c := newController(t, r, reconcile.Options[string]{ShutdownGracePeriod: tc.grace})
				stop := run(c)
				c.Queue().Add("a")
				synctest.Wait()
				start := time.Now()
				if err := stop(); !errors.Is(err, reconcile.ErrShutdownTimeout) || time.Since(start) != tc.want {
					t.Fatalf("Run = %v after %v, want ErrShutdownTimeout after %v", err, time.Since(start), tc.want)
				}
				close(release) // let the stuck worker go, so the bubble can end
				synctest.Wait()
			})
		})
	}
}

// TestCancelledReconcileGetsBoundedWait: a reconcile that returns soon
// after its context is cancelled (within min(grace, 1s)) is waited for, and
// Run returns nil.
func TestCancelledReconcileGetsBoundedWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := reconcile.Func[string](func(ctx context.Context, _ string) (reconcile.Result, error) {
			<-ctx.Done()
			time.Sleep(700 * time.Millisecond) // cleaning up
			return reconcile.Result{}, nil
		})
		c := newController(t, r, reconcile.Options[string]{ShutdownGracePeriod: 10 * time.Second})
		stop := run(c)
		c.Queue().Add("a")
		synctest.Wait()
		start := time.Now()
		if err := stop(); err != nil || time.Since(start) != 10700*time.Millisecond {
			t.Fatalf("Run = %v after %v, want nil after 10.7s", err, time.Since(start))
		}
	})
}

// TestLostLeadershipWithContextIgnored (issue 12, item 2): when leadership
// is lost while a reconciler ignores its context, Run does not wait for it
// without limit: it returns ErrShutdownTimeout min(grace, 1s) after the
// loss, without its own context ending.
func TestLostLeadershipWithContextIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var election reconcile.LocalElection
		release := make(chan struct{})
		r := reconcile.Func[string](func(ctx context.Context, _ string) (reconcile.Result, error) {
			<-release // ignores ctx
			return reconcile.Result{}, nil
		})
		c := newController(t, r, reconcile.Options[string]{ShutdownGracePeriod: 30 * time.Second, LeaderElector: election.Candidate("a")})
		errc := make(chan error, 1)
		go func() { errc <- c.Run(t.Context()) }()
		c.Queue().Add("a")
		synctest.Wait()
		start := time.Now()
		election.Depose()
		if err := <-errc; !errors.Is(err, reconcile.ErrShutdownTimeout) || time.Since(start) != time.Second {
			t.Fatalf("Run = %v %v after losing leadership, want ErrShutdownTimeout after 1s", err, time.Since(start))
		}
		close(release)
		synctest.Wait()
	})
}

func TestCacheSyncTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder(func(string, int) (reconcile.Result, error) { return reconcile.Result{}, nil })
		c := newController(t, rec, reconcile.Options[string]{CacheSyncTimeout: 30 * time.Second})
		c.WaitForSync(func() bool { return false })
		c.Queue().Add("a")
		start := time.Now()
		err := c.Run(context.Background())
		if !errors.Is(err, reconcile.ErrCacheSyncTimeout) || time.Since(start) != 30*time.Second {
			t.Fatalf("Run = %v after %v, want ErrCacheSyncTimeout after 30s", err, time.Since(start))
		}
		if len(rec.times("a")) != 0 {
			t.Fatal("a reconcile ran before the caches synced")
		}
	})
}

func TestWaitsForSyncBeforeWorking(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder(func(string, int) (reconcile.Result, error) { return reconcile.Result{}, nil })
		c := newController(t, rec, reconcile.Options[string]{})
		var synced atomic.Bool
		c.WaitForSync(synced.Load)
		stop := run(c)
		c.Queue().Add("a")
		time.Sleep(5 * time.Second)
		synced.Store(true)
		time.Sleep(time.Second)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if got := rec.times("a"); len(got) != 1 || got[0] < 5*time.Second {
			t.Fatalf("reconciled at %v, want once after the cache synced at 5s", got)
		}
	})
}

// TestRunOnce checks the lifecycle rule: a second Run, while the first
// runs and after it returned, fails at once with ErrAlreadyStarted and
// leaves the first alone.
func TestRunOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder(func(string, int) (reconcile.Result, error) { return reconcile.Result{}, nil })
		c := newController(t, rec, reconcile.Options[string]{})
		stop := run(c)
		synctest.Wait()
		if err := c.Run(context.Background()); !errors.Is(err, controlloop.ErrAlreadyStarted) {
			t.Fatalf("Run while running = %v, want ErrAlreadyStarted", err)
		}
		c.Queue().Add("a") // the first Run still works
		synctest.Wait()
		if got := rec.times("a"); len(got) != 1 {
			t.Fatalf("after a second Run, the first reconciled a %d times, want 1", len(got))
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if err := c.Run(context.Background()); !errors.Is(err, controlloop.ErrAlreadyStarted) {
			t.Fatalf("Run after Run returned = %v, want ErrAlreadyStarted", err)
		}
	})
}

// TestOptionsValidated checks that New refuses each invalid option with
// an error wrapping ErrInvalid that names the field and the rule.
func TestOptionsValidated(t *testing.T) {
	r := reconcile.Func[string](func(context.Context, string) (reconcile.Result, error) { return reconcile.Result{}, nil })
	var nilLimiter *workqueue.ItemExponential[string]
	cases := []struct {
		opts reconcile.Options[string]
		want string
	}{
		{reconcile.Options[string]{}, `reconcile: Options.Name is "": required`},
		{reconcile.Options[string]{Name: "x", Workers: -1}, "reconcile: Options.Workers is -1: must not be negative"},
		{reconcile.Options[string]{Name: "x", Timeout: -time.Second}, "reconcile: Options.Timeout is -1s: must not be negative"},
		{reconcile.Options[string]{Name: "x", CacheSyncTimeout: -time.Second}, "reconcile: Options.CacheSyncTimeout is -1s: must not be negative"},
		{reconcile.Options[string]{Name: "x", ShutdownGracePeriod: -time.Second}, "reconcile: Options.ShutdownGracePeriod is -1s: must not be negative"},
		{reconcile.Options[string]{Name: "x", SyncPeriod: -2}, "reconcile: Options.SyncPeriod is -2ns: must be positive, zero (the default) or NoSync"},
		{reconcile.Options[string]{Name: "x", RateLimiter: nilLimiter}, "reconcile: Options.RateLimiter is a nil *workqueue.ItemExponential[string]"},
		{reconcile.Options[string]{Name: "x", LeaderElector: reconcile.LeaderElectorFunc(nil)}, "reconcile: Options.LeaderElector is a nil reconcile.LeaderElectorFunc"},
		{reconcile.Options[string]{Name: "x", Metrics: (*nilMetrics)(nil)}, "reconcile: Options.Metrics is a nil *reconcile_test.nilMetrics"},
		{reconcile.Options[string]{Name: "x", Metrics: &nilMetrics{}}, "reconcile: Options.Metrics.ForController returned nil"},
		{reconcile.Options[string]{Name: "x", HandlerSyncTimeout: -time.Second}, "reconcile: Options.HandlerSyncTimeout is -1s: must not be negative"},
		{reconcile.Options[string]{Name: "x", KeyStates: -1}, "reconcile: Options.KeyStates is -1: must not be negative"},
		{reconcile.Options[string]{Name: "x", Tracer: (*nilTracer)(nil)}, "reconcile: Options.Tracer is a nil *reconcile_test.nilTracer"},
	}
	for _, tc := range cases {
		_, err := reconcile.New(r, tc.opts)
		if !errors.Is(err, controlloop.ErrInvalid) || err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want ErrInvalid with %q", tc.opts, err, tc.want)
		}
	}
	_, err := reconcile.New(nil, reconcile.Options[string]{Name: "x", Workers: -2})
	if !errors.Is(err, controlloop.ErrInvalid) || !strings.Contains(err.Error(), "nil Reconciler") || !strings.Contains(err.Error(), "Workers is -2") {
		t.Errorf("New(nil, Workers: -2) = %v, want both faults, wrapping ErrInvalid", err)
	}
	if _, err := reconcile.New(r, reconcile.Options[string]{Name: "x", SyncPeriod: reconcile.NoSync}); err != nil {
		t.Errorf("New(SyncPeriod: NoSync) = %v, want it accepted", err)
	}
	if _, err := reconcile.New(reconcile.Func[string](nil), reconcile.Options[string]{Name: "x"}); !errors.Is(err, controlloop.ErrInvalid) {
		t.Errorf("New(nil Func) = %v, want ErrInvalid", err)
	}
}

// nilMetrics is a MetricsProvider whose ForController returns nil.
type nilMetrics struct{}

func (*nilMetrics) ForQueue(string, func() workqueue.InFlight) workqueue.QueueMetrics { return nil }
func (*nilMetrics) ForController(string, int) reconcile.ControllerMetrics             { return nil }

func TestTerminalError(t *testing.T) {
	base := errors.New("bad spec")
	err := reconcile.TerminalError(base)
	if !errors.Is(err, reconcile.ErrTerminal) || !errors.Is(err, base) {
		t.Fatalf("TerminalError(base) matches ErrTerminal %v, base %v", errors.Is(err, reconcile.ErrTerminal), errors.Is(err, base))
	}
	if errors.Is(base, reconcile.ErrTerminal) {
		t.Fatal("a plain error is terminal")
	}
	if !errors.Is(reconcile.TerminalError(nil), reconcile.ErrTerminal) {
		t.Fatal("TerminalError(nil) is not terminal")
	}
}

func TestReconcileContextCarriesIDAndLogger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ids sync.Map
		var buf syncBuffer
		r := reconcile.Func[string](func(ctx context.Context, req string) (reconcile.Result, error) {
			id := reconcile.ReconcileID(ctx)
			if _, dup := ids.LoadOrStore(id, req); dup || id == "" {
				t.Errorf("reconcile id %q empty or reused", id)
			}
			reconcile.Logger(ctx).Info("hello")
			return reconcile.Result{}, nil
		})
		c := newController(t, r, reconcile.Options[string]{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
		stop := run(c)
		c.Queue().Add("a")
		c.Queue().Add("b")
		synctest.Wait()
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"controller=test", "request=a", "request=b", "reconcileID="} {
			if !buf.contains(want) {
				t.Errorf("log lacks %q:\n%s", want, buf.String())
			}
		}
		if reconcile.ReconcileID(context.Background()) != "" {
			t.Error("a context outside a reconcile has a reconcile id")
		}
	})
}
