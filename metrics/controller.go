package metrics

import (
	"fmt"
	"strconv"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/reconcile"
	"github.com/prometheus/client_golang/prometheus"
)

// Buckets of controller_runtime_reconcile_time_seconds, as in
// controller-runtime.
var reconcileBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5,
	0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60}

// ControllerProvider is a [reconcile.MetricsProvider] for Prometheus: the
// controller metrics of controller-runtime, and the workqueue metrics of
// each controller's queue under the controller's name. Create it with
// [NewControllerProvider]; it is safe for concurrent use.
type ControllerProvider struct {
	*WorkqueueProvider
	total      *prometheus.CounterVec
	errors     *prometheus.CounterVec
	terminal   *prometheus.CounterVec
	panics     *prometheus.CounterVec
	timeouts   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	maxWorkers *prometheus.GaugeVec
	active     *prometheus.GaugeVec
	reasons    *prometheus.CounterVec
	// The stale-cache gating's (reconcile.StaleCacheMetrics).
	staleSkips    *prometheus.CounterVec
	staleTimeouts *prometheus.CounterVec
	storeVersion  *prometheus.GaugeVec
}

var (
	_ reconcile.MetricsProvider   = (*ControllerProvider)(nil)
	_ reconcile.StaleCacheMetrics = (*controllerMetrics)(nil)
)

// NewControllerProvider registers the controller and workqueue metrics on
// reg and returns a provider for [reconcile.Options.Metrics]. It fails,
// registering nothing, if reg already holds metrics of the same names; a
// nil reg is refused with an error wrapping [controlloop.ErrInvalid].
func NewControllerProvider(reg prometheus.Registerer) (*ControllerProvider, error) {
	if isNil(reg) {
		return nil, fmt.Errorf("metrics: NewControllerProvider: nil Registerer: %w", controlloop.ErrInvalid)
	}
	wq, err := NewWorkqueueProvider(reg)
	if err != nil {
		return nil, fmt.Errorf("metrics: NewControllerProvider: %w", err)
	}
	ctl := []string{"controller"}
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, ctl)
	}
	gauge := func(name, help string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, ctl)
	}
	m := &ControllerProvider{
		WorkqueueProvider: wq,
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
		reasons: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "controlloop_reconcile_reasons_total",
			Help: "Total number of reconciliations per controller by why they ran (reconcile.Reason.Label); counted only by controllers with Options.Introspect",
		}, []string{"controller", "reason"}),
		staleSkips: counter("stale_sync_skips_total",
			"Total number of reconciles put off because a cache the controller reads had not applied the request's own earlier write"),
		staleTimeouts: counter("controlloop_stale_sync_timeouts_total",
			"Total number of requests reconciled although a cache still lacked their own earlier write after the stale-cache timeout"),
		storeVersion: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "store_resource_version",
			Help: "Newest resource version of its source that each cache the controller reads has applied (sources with decimal versions only)",
		}, []string{"controller", "informer"}),
	}
	if err := register(reg, m.total, m.errors, m.terminal, m.panics, m.timeouts, m.duration, m.maxWorkers, m.active,
		m.reasons, m.staleSkips, m.staleTimeouts, m.storeVersion); err != nil {
		for _, c := range wq.collectors() {
			reg.Unregister(c)
		}
		return nil, fmt.Errorf("metrics: NewControllerProvider: %w", err)
	}
	return m, nil
}

// ForController implements [reconcile.MetricsProvider]. Every series
// of the controller starts at zero, so that rates and alerts work from the
// first scrape.
func (m *ControllerProvider) ForController(name string, workers int) reconcile.ControllerMetrics {
	c := &controllerMetrics{
		errors:   m.errors.WithLabelValues(name),
		terminal: m.terminal.WithLabelValues(name),
		panics:   m.panics.WithLabelValues(name),
		timeouts: m.timeouts.WithLabelValues(name),
		duration: m.duration.WithLabelValues(name),
		active:   m.active.WithLabelValues(name),
		reasons:  m.reasons.MustCurryWith(prometheus.Labels{"controller": name}),

		staleSkips:    m.staleSkips.WithLabelValues(name),
		staleTimeouts: m.staleTimeouts.WithLabelValues(name),
		storeVersion:  m.storeVersion.MustCurryWith(prometheus.Labels{"controller": name}),
	}
	for _, o := range []reconcile.Outcome{reconcile.OutcomeSuccess, reconcile.OutcomeError, reconcile.OutcomeRequeueAfter} {
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
	reasons                            *prometheus.CounterVec // curried with the controller

	staleSkips, staleTimeouts prometheus.Counter
	storeVersion              *prometheus.GaugeVec // by informer
}

func (c *controllerMetrics) StaleSyncSkipped()  { c.staleSkips.Inc() }
func (c *controllerMetrics) StaleSyncTimedOut() { c.staleTimeouts.Inc() }

// StoreResourceVersion sets the informer's gauge to version, if it is a
// number; opaque versions are not reported.
func (c *controllerMetrics) StoreResourceVersion(informer, version string) {
	if v, err := strconv.ParseFloat(version, 64); err == nil {
		c.storeVersion.WithLabelValues(informer).Set(v)
	}
}

var _ reconcile.ReasonMetrics = (*controllerMetrics)(nil)

// ReconcileReason implements [reconcile.ReasonMetrics].
func (c *controllerMetrics) ReconcileReason(label string) { c.reasons.WithLabelValues(label).Inc() }

func (c *controllerMetrics) ReconcileStarted() { c.active.Inc() }

func (c *controllerMetrics) ReconcileFinished(o reconcile.Observation) {
	c.active.Dec()
	c.total[o.Outcome].Inc()
	c.duration.Observe(o.Duration.Seconds())
	if o.Outcome == reconcile.OutcomeError {
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
