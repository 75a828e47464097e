package metrics

import (
	"github.com/controlloop/controlloop/reconcile"
	"github.com/prometheus/client_golang/prometheus"
)

// Buckets of controller_runtime_reconcile_time_seconds, as in
// controller-runtime.
var reconcileBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5,
	0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60}

// ControllerMetrics is a [reconcile.MetricsProvider] for Prometheus: the
// controller metrics of controller-runtime, and the workqueue metrics of
// each controller's queue under the controller's name. Create it with
// [NewControllerMetrics]; it is safe for concurrent use.
type ControllerMetrics struct {
	*WorkqueueMetrics
	total      *prometheus.CounterVec
	errors     *prometheus.CounterVec
	terminal   *prometheus.CounterVec
	panics     *prometheus.CounterVec
	timeouts   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	maxWorkers *prometheus.GaugeVec
	active     *prometheus.GaugeVec
}

var _ reconcile.MetricsProvider = (*ControllerMetrics)(nil)

// NewControllerMetrics registers the controller and workqueue metrics on
// reg and returns a provider for [reconcile.Options.Metrics]. It fails if
// reg already holds metrics of the same names.
func NewControllerMetrics(reg prometheus.Registerer) (*ControllerMetrics, error) {
	wq, err := NewWorkqueueMetrics(reg)
	if err != nil {
		return nil, err
	}
	ctl := []string{"controller"}
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, ctl)
	}
	gauge := func(name, help string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, ctl)
	}
	m := &ControllerMetrics{
		WorkqueueMetrics: wq,
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "controller_runtime_reconcile_total",
			Help: "Total number of reconciliations per controller",
		}, []string{"controller", "result"}),
		errors:   counter("controller_runtime_reconcile_errors_total", "Total number of reconciliation errors per controller"),
		terminal: counter("controller_runtime_terminal_reconcile_errors_total", "Total number of terminal reconciliation errors per controller"),
		panics:   counter("controller_runtime_reconcile_panics_total", "Total number of reconciliation panics per controller"),
		timeouts: counter("controller_runtime_reconcile_timeouts_total", "Total number of reconciliation timeouts per controller"),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "controller_runtime_reconcile_time_seconds",
			Help:    "Length of time per reconciliation per controller",
			Buckets: reconcileBuckets,
		}, ctl),
		maxWorkers: gauge("controller_runtime_max_concurrent_reconciles", "Maximum number of concurrent reconciles per controller"),
		active:     gauge("controller_runtime_active_workers", "Number of currently used workers per controller"),
	}
	for _, c := range []prometheus.Collector{m.total, m.errors, m.terminal, m.panics, m.timeouts, m.duration, m.maxWorkers, m.active} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// NewControllerMetrics implements [reconcile.MetricsProvider]. Every series
// of the controller starts at zero, so that rates and alerts work from the
// first scrape.
func (m *ControllerMetrics) NewControllerMetrics(name string, workers int) reconcile.ControllerMetrics {
	c := &controllerMetrics{
		errors:   m.errors.WithLabelValues(name),
		terminal: m.terminal.WithLabelValues(name),
		panics:   m.panics.WithLabelValues(name),
		timeouts: m.timeouts.WithLabelValues(name),
		duration: m.duration.WithLabelValues(name),
		active:   m.active.WithLabelValues(name),
	}
	for _, o := range []reconcile.Outcome{reconcile.Success, reconcile.Failure, reconcile.RequeueAfter} {
		c.total[o] = m.total.WithLabelValues(name, o.String())
	}
	// controller-runtime also exports result="requeue" (its Result.Requeue);
	// Result has no such flag here, so the series stays at zero.
	m.total.WithLabelValues(name, "requeue")
	m.maxWorkers.WithLabelValues(name).Set(float64(workers))
	return c
}

type controllerMetrics struct {
	total                              [3]prometheus.Counter // by Outcome
	errors, terminal, panics, timeouts prometheus.Counter
	duration                           prometheus.Observer
	active                             prometheus.Gauge
}

func (c *controllerMetrics) ReconcileStarted() { c.active.Inc() }

func (c *controllerMetrics) ReconcileFinished(o reconcile.Observation) {
	c.active.Dec()
	c.total[o.Outcome].Inc()
	c.duration.Observe(o.Duration.Seconds())
	if o.Outcome == reconcile.Failure {
		c.errors.Inc()
	}
	if o.Terminal {
		c.terminal.Inc()
	}
	if o.Panicked {
		c.panics.Inc()
	}
	if o.TimedOut {
		c.timeouts.Inc()
	}
}
