package etcd

import (
	"context"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/controlloop/controlloop"
)

// RequestProgressUnchecked sends a progress request on the watch stream of
// s without RequestProgress's check of the server version: tests stand
// for another requester on the stream with it.
func RequestProgressUnchecked[T controlloop.Object](ctx context.Context, s *Source[T]) error {
	return s.requestProgress(ctx)
}

// ProgressOrdered is progressOrdered, for a table of server versions.
var ProgressOrdered = progressOrdered

// Undecodable is m's counter of the values skipped under prefix.
func (m *Metrics) Undecodable(prefix string) prometheus.Counter {
	return m.undecodable.WithLabelValues(prefix)
}
