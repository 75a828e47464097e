package clientgo

import (
	"testing"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/internal/bench"
	"github.com/controlloop/controlloop/metrics"
	ourwq "github.com/controlloop/controlloop/workqueue"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
)

type queueImpl struct {
	name string
	new  func(b *testing.B, withMetrics bool) bench.Queue[controlloop.Key]
}

// queueImpls are the three queues compared, each built with metrics off
// (no name: client-go and controller-runtime then skip them) or on.
var queueImpls = []queueImpl{
	{"controlloop", func(b *testing.B, withMetrics bool) bench.Queue[controlloop.Key] {
		opts := ourwq.Options[controlloop.Key]{}
		if withMetrics {
			m, err := metrics.NewWorkqueueProvider(prometheus.NewRegistry())
			if err != nil {
				b.Fatal(err)
			}
			opts.Name, opts.Metrics = "bench", m
		}
		q, err := ourwq.New(opts)
		if err != nil {
			b.Fatal(err)
		}
		return bench.Workqueue(q)
	}},
	{"clientgo", func(b *testing.B, withMetrics bool) bench.Queue[controlloop.Key] {
		cfg := workqueue.TypedRateLimitingQueueConfig[controlloop.Key]{}
		if withMetrics {
			cfg.Name, cfg.MetricsProvider = "bench", newPromProvider()
		}
		return workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[controlloop.Key](), cfg)
	}},
	{"controllerruntime", func(b *testing.B, withMetrics bool) bench.Queue[controlloop.Key] {
		name := ""
		var opts []priorityqueue.Opt[controlloop.Key]
		if withMetrics {
			name = "bench"
			provider := newPromProvider()
			opts = append(opts, func(o *priorityqueue.Opts[controlloop.Key]) { o.MetricProvider = provider })
		}
		return priorityqueue.New(name, opts...)
	}},
}

func eachQueue(b *testing.B, run func(b *testing.B, impl queueImpl)) {
	for _, impl := range queueImpls {
		b.Run("impl="+impl.name, func(b *testing.B) { run(b, impl) })
	}
}

func BenchmarkWorkqueueAddGetDone(b *testing.B) {
	eachQueue(b, func(b *testing.B, impl queueImpl) { bench.AddGetDone(b, impl.new(b, false)) })
}

func BenchmarkWorkqueueAddGetDoneMetrics(b *testing.B) {
	eachQueue(b, func(b *testing.B, impl queueImpl) { bench.AddGetDone(b, impl.new(b, true)) })
}

func BenchmarkWorkqueueParallel(b *testing.B) {
	eachQueue(b, func(b *testing.B, impl queueImpl) {
		bench.Parallel(b, func() bench.Queue[controlloop.Key] { return impl.new(b, false) }, 4, 4)
	})
}

func BenchmarkWorkqueueAddAfterDrain(b *testing.B) {
	eachQueue(b, func(b *testing.B, impl queueImpl) {
		bench.AddAfterDrain(b, func() bench.Queue[controlloop.Key] { return impl.new(b, false) }, 100_000)
	})
}

func BenchmarkWorkqueueHotKey(b *testing.B) {
	eachQueue(b, func(b *testing.B, impl queueImpl) { bench.HotKey(b, impl.new(b, false)) })
}

func BenchmarkWorkqueueHotKeyMetrics(b *testing.B) {
	eachQueue(b, func(b *testing.B, impl queueImpl) { bench.HotKey(b, impl.new(b, true)) })
}
