package metrics_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/metrics"
	"github.com/controlloop/controlloop/reconcile"
	"github.com/controlloop/controlloop/workqueue"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestControllerMetricsPreinitialised(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m, err := metrics.NewControllerProvider(reg)
	if err != nil {
		t.Fatal(err)
	}
	m.ForController("rs", 4)
	want := `
# HELP controller_runtime_max_concurrent_reconciles Maximum number of concurrent reconciles per controller
# TYPE controller_runtime_max_concurrent_reconciles gauge
controller_runtime_max_concurrent_reconciles{controller="rs"} 4
# HELP controller_runtime_reconcile_total Total number of reconciliations per controller
# TYPE controller_runtime_reconcile_total counter
controller_runtime_reconcile_total{controller="rs",result="error"} 0
controller_runtime_reconcile_total{controller="rs",result="requeue"} 0
controller_runtime_reconcile_total{controller="rs",result="requeue_after"} 0
controller_runtime_reconcile_total{controller="rs",result="success"} 0
# HELP controller_runtime_reconcile_errors_total Total number of reconciliation errors per controller
# TYPE controller_runtime_reconcile_errors_total counter
controller_runtime_reconcile_errors_total{controller="rs"} 0
# HELP controller_runtime_active_workers Number of currently used workers per controller
# TYPE controller_runtime_active_workers gauge
controller_runtime_active_workers{controller="rs"} 0
# HELP controller_runtime_terminal_reconcile_errors_total Total number of terminal reconciliation errors per controller
# TYPE controller_runtime_terminal_reconcile_errors_total counter
controller_runtime_terminal_reconcile_errors_total{controller="rs"} 0
# HELP controller_runtime_reconcile_panics_total Total number of reconciliation panics per controller
# TYPE controller_runtime_reconcile_panics_total counter
controller_runtime_reconcile_panics_total{controller="rs"} 0
# HELP controller_runtime_reconcile_timeouts_total Total number of reconciliation timeouts per controller
# TYPE controller_runtime_reconcile_timeouts_total counter
controller_runtime_reconcile_timeouts_total{controller="rs"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"controller_runtime_max_concurrent_reconciles", "controller_runtime_reconcile_total",
		"controller_runtime_reconcile_errors_total", "controller_runtime_active_workers",
		"controller_runtime_terminal_reconcile_errors_total", "controller_runtime_reconcile_panics_total",
		"controller_runtime_reconcile_timeouts_total"); err != nil {
		t.Fatal(err)
	}
	if got := scrape(t, reg)["controller_runtime_reconcile_time_seconds_count"]; got != 0 {
		t.Errorf("reconcile_time_seconds count = %v, want a series at 0", got)
	}
	if n, err := testutil.GatherAndCount(reg, "controller_runtime_reconcile_time_seconds"); err != nil || n != 1 {
		t.Errorf("reconcile_time_seconds has %d series (%v), want 1 from the start", n, err)
	}
}

func TestControllerMetricsScraped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := prometheus.NewPedanticRegistry()
		m, err := metrics.NewControllerProvider(reg)
		if err != nil {
			t.Fatal(err)
		}
		// Each request has a fixed fate; "flaky" fails twice, then succeeds.
		flaky := 0
		r := reconcile.Func[string](func(ctx context.Context, req string) (reconcile.Result, error) {
			time.Sleep(100 * time.Millisecond)
			switch req {
			case "ok":
				return reconcile.Result{}, nil
			case "later":
				return reconcile.Result{RequeueAfter: time.Hour}, nil
			case "bad":
				return reconcile.Result{}, reconcile.TerminalError(errors.New("invalid"))
			case "panic":
				panic("boom")
			case "slow":
				<-ctx.Done()
				return reconcile.Result{}, reconcile.TerminalError(ctx.Err())
			case "flaky":
				if flaky++; flaky <= 2 {
					return reconcile.Result{}, errors.New("not yet")
				}
			}
			return reconcile.Result{}, nil
		})
		limiter, err := workqueue.NewItemExponential[string](time.Second, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		c, err := reconcile.New(r, reconcile.Options[string]{
			Name: "rs", Metrics: m, Timeout: time.Second,
			Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
			RateLimiter: limiter,
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- c.Run(ctx) }()
		for _, req := range []string{"ok", "later", "bad", "slow", "flaky"} {
			c.Queue().Add(req)
		}
		time.Sleep(30 * time.Second) // flaky: fails at ~0s and ~1s, succeeds at ~3s
		c.Queue().Add("panic")       // fails, retried after 1s: panics again
		time.Sleep(1500 * time.Millisecond)
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}

		counts := map[string]float64{
			`controller_runtime_reconcile_total{result="success"}`:       2, // ok, flaky
			`controller_runtime_reconcile_total{result="requeue_after"}`: 1, // later
			`controller_runtime_reconcile_total{result="error"}`:         6, // bad, slow, flaky x2, panic x2
			`controller_runtime_reconcile_errors_total`:                  6,
			`controller_runtime_terminal_reconcile_errors_total`:         2, // bad, slow
			`controller_runtime_reconcile_panics_total`:                  2,
			`controller_runtime_reconcile_timeouts_total`:                1, // slow
			`workqueue_retries_total`:                                    5, // later, flaky x2, panic x2
		}
		got := scrape(t, reg)
		for series, want := range counts {
			if got[series] != want {
				t.Errorf("%s = %v, want %v", series, got[series], want)
			}
		}
		if got["controller_runtime_reconcile_time_seconds_count"] != 9 {
			t.Errorf("reconcile_time_seconds count = %v, want 9", got["controller_runtime_reconcile_time_seconds_count"])
		}
		if got["controller_runtime_active_workers"] != 0 {
			t.Errorf("active workers after Run = %v", got["controller_runtime_active_workers"])
		}
	})
}

// scrape gathers reg into "name{labels but controller and name}" -> value;
// histograms give name_count and name_sum.
func scrape(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			series := mf.GetName()
			var labels []string
			for _, l := range m.GetLabel() {
				if l.GetName() != "controller" && l.GetName() != "name" {
					labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
				}
			}
			if len(labels) > 0 {
				series += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.GetCounter() != nil:
				out[series] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				out[series] = m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				out[series+"_count"] = float64(m.GetHistogram().GetSampleCount())
				out[series+"_sum"] = m.GetHistogram().GetSampleSum()
			}
		}
	}
	return out
}

// TestProvidersRefuseNilRegisterer checks that the constructors refuse a
// nil Registerer (or a nil *Registry) with ErrInvalid instead of panicking.
func TestProvidersRefuseNilRegisterer(t *testing.T) {
	for _, reg := range []prometheus.Registerer{nil, (*prometheus.Registry)(nil)} {
		if _, err := metrics.NewControllerProvider(reg); !errors.Is(err, controlloop.ErrInvalid) || !strings.Contains(err.Error(), "metrics: NewControllerProvider: nil Registerer") {
			t.Errorf("NewControllerProvider(%#v) = %v, want ErrInvalid", reg, err)
		}
		if _, err := metrics.NewWorkqueueProvider(reg); !errors.Is(err, controlloop.ErrInvalid) || !strings.Contains(err.Error(), "metrics: NewWorkqueueProvider: nil Registerer") {
			t.Errorf("NewWorkqueueProvider(%#v) = %v, want ErrInvalid", reg, err)
		}
		if _, err := metrics.NewInformerProvider(reg); !errors.Is(err, controlloop.ErrInvalid) || !strings.Contains(err.Error(), "metrics: NewInformerProvider: nil Registerer") {
			t.Errorf("NewInformerProvider(%#v) = %v, want ErrInvalid", reg, err)
		}
	}
}

// TestFailedRegistrationLeavesNothing makes NewControllerProvider fail on
// its last metric: the ones it registered before are unregistered, so the
// registry can still take a provider elsewhere.
func TestFailedRegistrationLeavesNothing(t *testing.T) {
	reg := prometheus.NewRegistry()
	taken := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "controller_runtime_active_workers", Help: "Number of currently used workers per controller",
	}, []string{"controller"})
	reg.MustRegister(taken)
	if _, err := metrics.NewControllerProvider(reg); err == nil {
		t.Fatal("NewControllerProvider succeeded on a registry holding one of its names")
	}
	reg.Unregister(taken)
	if _, err := metrics.NewControllerProvider(reg); err != nil {
		t.Fatalf("after a failed NewControllerProvider, a second one fails: %v (the first left metrics behind)", err)
	}
}

// TestReconcileReasonsCounted: an introspecting controller counts its
// reconciles by reason, in a series of its own; a retry counts as one.
func TestReconcileReasonsCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := prometheus.NewPedanticRegistry()
		m, err := metrics.NewControllerProvider(reg)
		if err != nil {
			t.Fatal(err)
		}
		failed := false
		c, err := reconcile.New(reconcile.Func[string](func(context.Context, string) (reconcile.Result, error) {
			if !failed {
				failed = true
				return reconcile.Result{}, errors.New("once")
			}
			return reconcile.Result{}, nil
		}), reconcile.Options[string]{Name: "rs", Metrics: m, Introspect: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- c.Run(ctx) }()
		c.Queue().Add("a")
		time.Sleep(time.Second)
		synctest.Wait()
		cancel()
		<-done
		want := `
# HELP controlloop_reconcile_reasons_total Total number of reconciliations per controller by why they ran (reconcile.Reason.Label); counted only by controllers with Options.Introspect
# TYPE controlloop_reconcile_reasons_total counter
controlloop_reconcile_reasons_total{controller="rs",reason="direct"} 1
controlloop_reconcile_reasons_total{controller="rs",reason="retry"} 1
`
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "controlloop_reconcile_reasons_total"); err != nil {
			t.Fatal(err)
		}
	})
}
