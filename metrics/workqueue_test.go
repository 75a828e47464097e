package metrics_test

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop/metrics"
	"github.com/controlloop/controlloop/workqueue"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestWorkqueueMetricsScraped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := prometheus.NewPedanticRegistry()
		provider, err := metrics.NewWorkqueueProvider(reg)
		if err != nil {
			t.Fatal(err)
		}
		limiter, err := workqueue.NewItemExponential[string](time.Hour, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		q, err := workqueue.New(workqueue.Options[string]{
			Name: "pods", Metrics: provider, RateLimiter: limiter,
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()

		q.Add("a")
		q.Add("b")
		q.Add("a") // merged: not an add
		time.Sleep(2 * time.Second)
		a, _ := q.Get(ctx) // waited 2s
		time.Sleep(3 * time.Second)
		q.Done(a)          // worked 3s
		b, _ := q.Get(ctx) // waited 5s
		time.Sleep(time.Second)
		q.AddAfter("c", time.Minute) // a retry; not yet in the queue
		q.AddRateLimited("d")        // a retry
		// Now: b in flight for 1s; c and d waiting; nothing ready.

		want := `
# HELP workqueue_adds_total Total number of adds handled by workqueue
# TYPE workqueue_adds_total counter
workqueue_adds_total{name="pods"} 2
# HELP workqueue_depth Current depth of workqueue
# TYPE workqueue_depth gauge
workqueue_depth{name="pods"} 0
# HELP workqueue_longest_running_processor_seconds How many seconds has the longest running processor for workqueue been running.
# TYPE workqueue_longest_running_processor_seconds gauge
workqueue_longest_running_processor_seconds{name="pods"} 1
# HELP workqueue_retries_total Total number of retries handled by workqueue
# TYPE workqueue_retries_total counter
workqueue_retries_total{name="pods"} 2
`
		names := []string{"workqueue_adds_total", "workqueue_depth", "workqueue_longest_running_processor_seconds", "workqueue_retries_total"}
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		q.Add("e")
		q.Add("f")
		g, _ := q.Get(ctx) // e: two items in flight now, b for 2s and e for 0s
		if got := testutil.ToFloat64(gaugeOf(t, reg, "workqueue_unfinished_work_seconds")); got != 2 {
			t.Errorf("unfinished work = %v, want 2", got)
		}
		if got := testutil.ToFloat64(gaugeOf(t, reg, "workqueue_oldest_queued_item_seconds")); got != 0 {
			t.Errorf("oldest queued item = %v s, want 0 (f just added)", got)
		}
		if got := testutil.ToFloat64(gaugeOf(t, reg, "workqueue_depth")); got != 1 {
			t.Errorf("depth = %v, want 1 (f)", got)
		}

		q.Done(b)
		q.Done(g)
		if got := testutil.ToFloat64(gaugeOf(t, reg, "workqueue_unfinished_work_seconds")); got != 0 {
			t.Errorf("unfinished work after Done = %v, want 0", got)
		}

		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		sums := map[string]float64{}
		counts := map[string]uint64{}
		for _, mf := range mfs {
			if h := mf.GetMetric()[0].GetHistogram(); h != nil {
				sums[mf.GetName()], counts[mf.GetName()] = h.GetSampleSum(), h.GetSampleCount()
			}
		}
		// Queue durations: a 2s, b 5s, e 0s. Work: a 3s, b 2s, e 0s.
		if s, c := sums["workqueue_queue_duration_seconds"], counts["workqueue_queue_duration_seconds"]; s != 7 || c != 3 {
			t.Errorf("queue duration sum %v count %v, want 7 and 3", s, c)
		}
		if s, c := sums["workqueue_work_duration_seconds"], counts["workqueue_work_duration_seconds"]; s != 5 || c != 3 {
			t.Errorf("work duration sum %v count %v, want 5 and 3", s, c)
		}
		q.ShutDown()
	})
}

// gaugeOf wraps one metric family of reg as a collector for testutil.ToFloat64.
func gaugeOf(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	return collectorFunc(func(ch chan<- prometheus.Metric) {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == name {
				ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name, "", nil, nil), prometheus.GaugeValue, mf.GetMetric()[0].GetGauge().GetValue())
				return
			}
		}
		t.Fatalf("no metric %s", name)
	})
}

type collectorFunc func(chan<- prometheus.Metric)

func (f collectorFunc) Describe(chan<- *prometheus.Desc)    {}
func (f collectorFunc) Collect(ch chan<- prometheus.Metric) { f(ch) }

func TestNewWorkqueueMetricsTwiceOnOneRegistryFails(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := metrics.NewWorkqueueProvider(reg); err != nil {
		t.Fatal(err)
	}
	if _, err := metrics.NewWorkqueueProvider(reg); err == nil {
		t.Fatal("registering the workqueue metrics twice on one registry succeeded")
	}
}

// TestSecondQueueTakesOverInFlight gives two queues one name: the
// in-flight gauges follow the second.
func TestSecondQueueTakesOverInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := prometheus.NewPedanticRegistry()
		provider, err := metrics.NewWorkqueueProvider(reg)
		if err != nil {
			t.Fatal(err)
		}
		newQueue := func() *workqueue.Queue[string] {
			q, err := workqueue.New(workqueue.Options[string]{Name: "pods", Metrics: provider})
			if err != nil {
				t.Fatal(err)
			}
			return q
		}
		first, second := newQueue(), newQueue()
		first.Add("a")
		if _, err := first.Get(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second) // a is in flight in the first queue
		if got := testutil.ToFloat64(gaugeOf(t, reg, "workqueue_unfinished_work_seconds")); got != 0 {
			t.Errorf("unfinished work = %v, want 0: the second queue, with nothing in flight, took the name over", got)
		}
		if n, err := testutil.GatherAndCount(reg, "workqueue_unfinished_work_seconds"); err != nil || n != 1 {
			t.Errorf("%d unfinished-work series (%v), want 1 per name", n, err)
		}
		first.ShutDown()
		second.ShutDown()
	})
}
