package etcd

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/controlloop/controlloop"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Prometheus metrics of the sources given them through
// Options.Metrics; one Metrics serves any number of sources.
//
//	controlloop_etcd_undecodable_values_total{prefix}   counter
//
// counts the values that List and watches skip because they cannot be
// decoded or their key is malformed (the values Options.OnDecodeError is
// told of), by the source's prefix.
type Metrics struct {
	undecodable *prometheus.CounterVec
}

// NewMetrics registers the sources' metrics with reg. A reg that has them
// already (a second NewMetrics on it) shares them. It fails with an error
// wrapping [controlloop.ErrInvalid] for a nil reg, or with reg's error.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	if v := reflect.ValueOf(reg); reg == nil || v.Kind() == reflect.Pointer && v.IsNil() {
		return nil, fmt.Errorf("etcd: NewMetrics: nil Registerer: %w", controlloop.ErrInvalid)
	}
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "controlloop_etcd_undecodable_values_total",
		Help: "Values under a source's prefix that List and watches skipped because they could not be decoded or their key was malformed.",
	}, []string{"prefix"})
	if err := reg.Register(vec); err != nil {
		var dup prometheus.AlreadyRegisteredError
		if !errors.As(err, &dup) {
			return nil, fmt.Errorf("etcd: NewMetrics: %w", err)
		}
		existing, ok := dup.ExistingCollector.(*prometheus.CounterVec)
		if !ok {
			return nil, fmt.Errorf("etcd: NewMetrics: %w", err)
		}
		vec = existing
	}
	return &Metrics{undecodable: vec}, nil
}
