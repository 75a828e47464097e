package shard

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are a member's Prometheus metrics; a nil *metrics records
// nothing.
type metrics struct {
	owned, draining, unowned prometheus.Gauge
	handoffs, fenced         prometheus.Counter
	handoffSeconds           prometheus.Observer
}

func newMetrics(reg prometheus.Registerer, ring, id string) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	labels := prometheus.Labels{"ring": ring, "member": id}
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "shard", Name: name, Help: help, ConstLabels: labels})
	}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "shard", Name: name, Help: help, ConstLabels: labels})
	}
	hist := prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "shard", Name: "handoff_seconds", ConstLabels: labels,
		Help:    "How long this member took to hand off a slot: from deciding to release it to releasing it.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
	})
	m := &metrics{
		owned:          gauge("owned_slots", "Slots this member holds a claim of."),
		draining:       gauge("draining_slots", "Slots this member is handing off."),
		unowned:        gauge("unowned_slots", "Slots with no claim in this member's latest view: alarm when above 0 for longer than the lease TTL plus the window."),
		handoffs:       counter("handoffs_total", "Slots this member released to another member."),
		fenced:         counter("fenced_writes_total", "Writes refused because their slot's claim was no longer current."),
		handoffSeconds: hist,
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.owned, m.draining, m.unowned, m.handoffs, m.fenced, hist} {
		errs = append(errs, reg.Register(c))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return m, nil
}
