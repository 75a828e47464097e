package workqueue_test

import (
	"testing"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/internal/bench"
	"github.com/controlloop/controlloop/metrics"
	"github.com/controlloop/controlloop/workqueue"
	"github.com/prometheus/client_golang/prometheus"
)

func newBenchQueue(b *testing.B, withMetrics bool) bench.Queue[controlloop.Key] {
	opts := workqueue.Options[controlloop.Key]{Name: "bench"}
	if withMetrics {
		m, err := metrics.NewWorkqueueProvider(prometheus.NewRegistry())
		if err != nil {
			b.Fatal(err)
		}
		opts.Metrics = m
	}
	return bench.Workqueue(must(workqueue.New(opts)))
}

func BenchmarkAddGetDone(b *testing.B) { bench.AddGetDone(b, newBenchQueue(b, false)) }

func BenchmarkAddGetDoneMetrics(b *testing.B) { bench.AddGetDone(b, newBenchQueue(b, true)) }

func BenchmarkParallel(b *testing.B) {
	bench.Parallel(b, func() bench.Queue[controlloop.Key] { return newBenchQueue(b, false) }, 4, 4)
}

func BenchmarkAddAfterDrain(b *testing.B) {
	bench.AddAfterDrain(b, func() bench.Queue[controlloop.Key] { return newBenchQueue(b, false) }, 100_000)
}

func BenchmarkHotKey(b *testing.B) { bench.HotKey(b, newBenchQueue(b, false)) }

func BenchmarkHotKeyMetrics(b *testing.B) { bench.HotKey(b, newBenchQueue(b, true)) }
