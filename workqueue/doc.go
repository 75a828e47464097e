// Package workqueue provides [Queue], the work queue between a controller's
// event handlers and its workers: handlers add keys, workers Get a key,
// reconcile it, and call Done.
//
// # Contract
//
//   - Deduplication: an item is in the queue at most once. Adding an item
//     that is already queued merges the two adds.
//   - One worker per item: an item handed out by Get is not handed out again
//     until it is Done. An item added while it is being processed is queued
//     again when it is Done, so the change that caused the add is never
//     missed.
//   - Delays: AddAfter makes an item ready later. An item waiting and added
//     again keeps the earliest ready time; an immediate Add of a waiting item
//     makes it ready now, and it is handed out once, not again when its old
//     delay ends.
//   - Rate limiting: AddRateLimited delays an item by what the [RateLimiter]
//     says (by default [DefaultControllerRateLimiter]); Forget clears an
//     item's history after it succeeds.
//   - Priority: ready items are handed out highest priority first, and in
//     arrival order within a priority. An item added again keeps the highest
//     priority it was given.
//   - Shutdown: after ShutDown, adds do nothing, delayed items are dropped,
//     and Get hands out what is still ready, then returns [ErrShutDown].
//     ShutDownWithDrain also waits for the items in flight to be Done.
//
// Bad input is harmless: a negative delay is an immediate add, Done of an
// item that was not handed out does nothing, and operations after ShutDown
// are no-ops.
//
// # Concurrency and cost
//
// All methods of a Queue are safe for concurrent use; one mutex guards it.
// Add, Get and Done cost O(1) plus one or two map operations and allocate
// nothing in steady state; a delayed add costs O(log w) for w waiting
// items. The queue starts no goroutine: a single timer moves delayed items
// to ready when they are due. A queue without metrics reads no clock for an
// immediate add.
//
// # Metrics
//
// A [MetricsProvider] in [Options] receives the queue's depth, adds, queue
// and work durations, unfinished work, longest running processor and
// retries. Package metrics provides one for Prometheus with the names that
// client-go and controller-runtime use, so existing dashboards carry over.
//
// # Example
//
//	q := workqueue.New(workqueue.Options[controlloop.Key]{Name: "pods"})
//	q.Add(key)
//	for {
//		key, err := q.Get(ctx)
//		if err != nil {
//			return // shut down, or ctx ended
//		}
//		if err := reconcile(key); err != nil {
//			q.AddRateLimited(key)
//		} else {
//			q.Forget(key)
//		}
//		q.Done(key)
//	}
package workqueue
