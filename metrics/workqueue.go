package metrics

import (
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/workqueue"
	"github.com/prometheus/client_golang/prometheus"
)

// Buckets of the workqueue duration histograms, as in client-go: 10ns to 10s
// in factors of ten.
var workqueueBuckets = prometheus.ExponentialBuckets(10e-9, 10, 10)

// WorkqueueProvider is a [workqueue.MetricsProvider] for Prometheus. Create
// it with [NewWorkqueueProvider]; it is safe for concurrent use.
type WorkqueueProvider struct {
	depth    *prometheus.GaugeVec
	adds     *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	work     *prometheus.HistogramVec
	retries  *prometheus.CounterVec
	inFlight inFlightCollector
}

// NewWorkqueueProvider registers the workqueue metrics on reg and returns a
// provider for [workqueue.Options.Metrics]. It fails, registering nothing,
// if reg already holds metrics of the same names; a nil reg is refused with
// an error wrapping [controlloop.ErrInvalid].
func NewWorkqueueProvider(reg prometheus.Registerer) (*WorkqueueProvider, error) {
	if isNil(reg) {
		return nil, fmt.Errorf("metrics: NewWorkqueueProvider: nil Registerer: %w", controlloop.ErrInvalid)
	}
	labels := []string{"name"}
	m := &WorkqueueProvider{
		depth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Subsystem: "workqueue", Name: "depth",
			Help: "Current depth of workqueue",
		}, labels),
		adds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Subsystem: "workqueue", Name: "adds_total",
			Help: "Total number of adds handled by workqueue",
		}, labels),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Subsystem: "workqueue", Name: "queue_duration_seconds",
			Help:    "How long in seconds an item stays in workqueue before being requested.",
			Buckets: workqueueBuckets,
		}, labels),
		work: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Subsystem: "workqueue", Name: "work_duration_seconds",
			Help:    "How long in seconds processing an item from workqueue takes.",
			Buckets: workqueueBuckets,
		}, labels),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Subsystem: "workqueue", Name: "retries_total",
			Help: "Total number of retries handled by workqueue",
		}, labels),
		inFlight: inFlightCollector{
			unfinished: prometheus.NewDesc("workqueue_unfinished_work_seconds",
				"How many seconds of work has been done that is in progress and hasn't been observed by work_duration. "+
					"Large values indicate stuck threads. One can deduce the number of stuck threads by observing the rate at which this increases.",
				labels, nil),
			longest: prometheus.NewDesc("workqueue_longest_running_processor_seconds",
				"How many seconds has the longest running processor for workqueue been running.",
				labels, nil),
			oldestReady: prometheus.NewDesc("workqueue_oldest_queued_item_seconds",
				"How many seconds the item that has been ready longest in workqueue has waited for a worker (0 when none is ready).",
				labels, nil),
			queues: make(map[string]func() workqueue.InFlight),
		},
	}
	if err := register(reg, m.collectors()...); err != nil {
		return nil, fmt.Errorf("metrics: NewWorkqueueProvider: %w", err)
	}
	return m, nil
}

func (m *WorkqueueProvider) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.depth, m.adds, m.latency, m.work, m.retries, &m.inFlight}
}

// register registers cs on reg, all or none: on an error it unregisters
// those it registered.
func register(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	for i, c := range cs {
		if err := reg.Register(c); err != nil {
			for _, done := range cs[:i] {
				reg.Unregister(done)
			}
			return err
		}
	}
	return nil
}

// isNil reports whether reg is nil or a nil pointer.
func isNil(reg prometheus.Registerer) bool {
	if reg == nil {
		return true
	}
	v := reflect.ValueOf(reg)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// ForQueue implements [workqueue.MetricsProvider]. A second queue
// with the same name takes over the in-flight gauges of the first.
func (m *WorkqueueProvider) ForQueue(name string, inFlight func() workqueue.InFlight) workqueue.QueueMetrics {
	m.inFlight.set(name, inFlight)
	return &queueMetrics{
		depth:   m.depth.WithLabelValues(name),
		adds:    m.adds.WithLabelValues(name),
		latency: m.latency.WithLabelValues(name),
		work:    m.work.WithLabelValues(name),
		retries: m.retries.WithLabelValues(name),
	}
}

type queueMetrics struct {
	depth   prometheus.Gauge
	adds    prometheus.Counter
	latency prometheus.Observer
	work    prometheus.Observer
	retries prometheus.Counter
}

func (q *queueMetrics) Added() {
	q.adds.Inc()
	q.depth.Inc()
}

func (q *queueMetrics) Started(queued time.Duration) {
	q.depth.Dec()
	q.latency.Observe(queued.Seconds())
}

func (q *queueMetrics) Finished(worked time.Duration) { q.work.Observe(worked.Seconds()) }

func (q *queueMetrics) Retried() { q.retries.Inc() }

// inFlightCollector computes the in-flight gauges of every queue at scrape
// time.
type inFlightCollector struct {
	unfinished, longest, oldestReady *prometheus.Desc

	mu     sync.Mutex // protects queues
	queues map[string]func() workqueue.InFlight
}

func (c *inFlightCollector) set(name string, f func() workqueue.InFlight) {
	c.mu.Lock()
	c.queues[name] = f
	c.mu.Unlock()
}

func (c *inFlightCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.unfinished
	ch <- c.longest
	ch <- c.oldestReady
}

func (c *inFlightCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, f := range c.queues {
		in := f()
		ch <- prometheus.MustNewConstMetric(c.unfinished, prometheus.GaugeValue, in.Unfinished.Seconds(), name)
		ch <- prometheus.MustNewConstMetric(c.longest, prometheus.GaugeValue, in.Longest.Seconds(), name)
		ch <- prometheus.MustNewConstMetric(c.oldestReady, prometheus.GaugeValue, in.OldestReady.Seconds(), name)
	}
}
