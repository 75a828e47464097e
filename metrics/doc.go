// Package metrics implements the metrics interfaces of this module's
// packages for Prometheus. Metric names, types and labels are the ones
// client-go and controller-runtime export, so dashboards and alerts written
// for Kubernetes controllers work unchanged.
//
// Registries are injected, never global: pass the [prometheus.Registerer]
// the metrics should live on.
//
// # Workqueue metrics
//
// [NewWorkqueueMetrics] returns a [workqueue.MetricsProvider] that exports,
// labelled by the queue's name:
//
//	workqueue_depth                              gauge      ready items
//	workqueue_adds_total                         counter    items that entered the queue
//	workqueue_queue_duration_seconds             histogram  time from ready to handed out
//	workqueue_work_duration_seconds              histogram  time from handed out to Done
//	workqueue_unfinished_work_seconds            gauge      work in flight, summed
//	workqueue_longest_running_processor_seconds  gauge      age of the oldest item in flight
//	workqueue_retries_total                      counter    delayed and rate-limited adds
//
// The two in-flight gauges are computed when they are scraped, so they are
// exact and cost nothing between scrapes.
package metrics
