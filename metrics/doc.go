// Package metrics implements the metrics interfaces of this module's
// packages for Prometheus. The workqueue and controller metrics have the
// names, types and labels client-go and controller-runtime export, so
// dashboards and alerts written for Kubernetes controllers work unchanged.
//
// Registries are injected, never global: pass the [prometheus.Registerer]
// the metrics should live on.
//
// # Workqueue metrics
//
// [NewWorkqueueProvider] returns a [workqueue.MetricsProvider] that exports,
// labelled by the queue's name:
//
//	workqueue_depth                              gauge      ready items
//	workqueue_adds_total                         counter    items that entered the queue
//	workqueue_queue_duration_seconds             histogram  time from ready to handed out
//	workqueue_work_duration_seconds              histogram  time from handed out to Done
//	workqueue_unfinished_work_seconds            gauge      work in flight, summed
//	workqueue_longest_running_processor_seconds  gauge      age of the oldest item in flight
//	workqueue_retries_total                      counter    delayed and rate-limited adds
//	workqueue_oldest_queued_item_seconds         gauge      age of the item ready longest
//
// The two in-flight gauges are computed when they are scraped, from the
// queue's in-flight items at that moment; nothing updates them between
// scrapes.
//
// # Controller metrics
//
// [NewControllerProvider] adds controller-runtime's controller metrics
// (controller_runtime_reconcile_total{result} and the rest), and one of
// this module's own, counted only by controllers with
// reconcile.Options.Introspect:
//
//	controlloop_reconcile_reasons_total{controller,reason}  counter  reconciles by why they ran (reconcile.Reason.Label)
//
// # Stale-cache metrics
//
// The controller provider also exports the metrics of the stale-cache
// gating (package reconcile, "Read your own writes"), with the names of
// Kubernetes' stale controller handling (KEP-5647) and the controller
// label:
//
//	stale_sync_skips_total                 counter  reconciles put off: a cache lacked the request's own write
//	controlloop_stale_sync_timeouts_total  counter  requests reconciled anyway after Options.StaleCacheTimeout
//	store_resource_version                 gauge    newest version each cache applied, by informer (its name)
//
// store_resource_version is set when the cache advances, for sources whose
// versions are decimal numbers (memstore, etcd); it is a version, not a
// count, so compare it only with versions of the same source.
//
// # Informer metrics
//
// [NewInformerProvider] returns an [informer.MetricsProvider] that exports,
// labelled by the informer's name (informer.Options.Name), metrics of this
// module's own, as client-go has none:
//
//	controlloop_informer_last_success_timestamp_seconds  gauge    when the source last answered (0: never)
//	controlloop_informer_healthy                         gauge    1, or 0 while lists or watches fail
//	controlloop_informer_synced                          gauge    1 once the cache holds the first list
//	controlloop_informer_errors_total                    counter  failed lists and watches, by kind
//
// The gauges are read from [informer.Informer.Health] when they are scraped
// (see there for when an informer counts as healthy: a quiet source with a
// live watch does); the counter's kind label is list, watch, expired (the
// version was too old: routine after compaction) or store. An alert on an
// outage reads, for instance, controlloop_informer_healthy == 0 for 5m, or
// time() - controlloop_informer_last_success_timestamp_seconds on a source
// that sends bookmarks.
package metrics
