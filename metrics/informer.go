package metrics

import (
	"errors"
	"fmt"
	"sync"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/reflector"
	"github.com/prometheus/client_golang/prometheus"
)

// The kinds of failure, as the kind label of
// controlloop_informer_errors_total names them (failureKinds).
const (
	listFailure = iota
	watchFailure
	expiredFailure
	storeFailure
	numFailureKinds
)

var failureKinds = [numFailureKinds]string{"list", "watch", "expired", "store"}

// InformerProvider is an [informer.MetricsProvider] for Prometheus: the
// health of each informer, read from [informer.Informer.Health] when the
// metrics are scraped, and its failures by kind. Create it with
// [NewInformerProvider]; it is safe for concurrent use.
type InformerProvider struct {
	errors *prometheus.CounterVec
	health healthCollector
}

var _ informer.MetricsProvider = (*InformerProvider)(nil)

// NewInformerProvider registers the informer metrics on reg and returns a
// provider for [informer.Options.Metrics]. It fails, registering nothing, if
// reg already holds metrics of the same names; a nil reg is refused with an
// error wrapping [controlloop.ErrInvalid].
func NewInformerProvider(reg prometheus.Registerer) (*InformerProvider, error) {
	if isNil(reg) {
		return nil, fmt.Errorf("metrics: NewInformerProvider: nil Registerer: %w", controlloop.ErrInvalid)
	}
	labels := []string{"name"}
	m := &InformerProvider{
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "controlloop_informer_errors_total",
			Help: "Total number of lists and watches of the informer's source that failed, by kind: list, watch, expired (the version was too old) or store.",
		}, []string{"name", "kind"}),
		health: healthCollector{
			lastSuccess: prometheus.NewDesc("controlloop_informer_last_success_timestamp_seconds",
				"Unix time at which the informer's source last answered (a list page, a watch event or a bookmark); 0 before the first.",
				labels, nil),
			healthy: prometheus.NewDesc("controlloop_informer_healthy",
				"1 when the informer is not failing to list or watch its source, 0 while it is.",
				labels, nil),
			synced: prometheus.NewDesc("controlloop_informer_synced",
				"1 once the informer's cache holds the source's first list, else 0.",
				labels, nil),
			informers: make(map[string]func() informer.Health),
		},
	}
	if err := register(reg, m.errors, &m.health); err != nil {
		return nil, fmt.Errorf("metrics: NewInformerProvider: %w", err)
	}
	return m, nil
}

// ForInformer implements [informer.MetricsProvider]. Every error series of
// the informer starts at zero, so that rates and alerts work from the first
// scrape. A second informer with the same name takes over the health gauges
// of the first.
func (m *InformerProvider) ForInformer(name string, health func() informer.Health) informer.Metrics {
	m.health.set(name, health)
	im := &informerMetrics{}
	for k, kind := range failureKinds {
		im.errors[k] = m.errors.WithLabelValues(name, kind)
	}
	return im
}

type informerMetrics struct {
	errors [numFailureKinds]prometheus.Counter // by kind
}

// Failed counts err under its kind: store for a failing store, expired for
// a version the source no longer holds, list for another failed list, and
// watch for every other failure.
func (im *informerMetrics) Failed(err error) {
	k := watchFailure
	switch {
	case errors.Is(err, reflector.ErrStore):
		k = storeFailure
	case errors.Is(err, controlloop.ErrExpired):
		k = expiredFailure
	case errors.Is(err, reflector.ErrList):
		k = listFailure
	}
	im.errors[k].Inc()
}

// healthCollector computes the health gauges of every informer at scrape
// time.
type healthCollector struct {
	lastSuccess, healthy, synced *prometheus.Desc

	mu        sync.Mutex // protects informers
	informers map[string]func() informer.Health
}

func (c *healthCollector) set(name string, f func() informer.Health) {
	c.mu.Lock()
	c.informers[name] = f
	c.mu.Unlock()
}

func (c *healthCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.lastSuccess
	ch <- c.healthy
	ch <- c.synced
}

func (c *healthCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, f := range c.informers {
		h := f()
		var last float64
		if !h.LastSuccess.IsZero() {
			last = float64(h.LastSuccess.UnixNano()) / 1e9
		}
		ch <- prometheus.MustNewConstMetric(c.lastSuccess, prometheus.GaugeValue, last, name)
		ch <- prometheus.MustNewConstMetric(c.healthy, prometheus.GaugeValue, bit(h.Err == nil), name)
		ch <- prometheus.MustNewConstMetric(c.synced, prometheus.GaugeValue, bit(h.Synced), name)
	}
}

// bit is 1 for true and 0 for false.
func bit(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
