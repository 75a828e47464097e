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
// # Construction
//
// The zero Queue is ready to use, with the defaults of New(Options{}): the
// [DefaultControllerRateLimiter] and no metrics. [New] takes [Options] and
// refuses invalid ones with an error wrapping [controlloop.ErrInvalid]; so
// do the rate limiter constructors ([NewItemExponential], [NewBucket],
// [NewFastSlow], [NewMaxOf]) for invalid arguments, rather than putting a
// default in their place.
//
// # Concurrency and cost
//
// All methods of a Queue are safe for concurrent use; one mutex guards it.
// Add, Get and Done cost O(1) plus one or two hash-table operations and
// allocate nothing in steady state. An add of an item the queue already
// holds costs one hash lookup under the lock (in a run of adds of one item,
// one comparison after the first): it makes no metrics call and reads no
// clock, so it costs the same with metrics on as off (BenchmarkHotKeyMetrics
// against BenchmarkHotKey). A delayed add costs O(log w) for w waiting items, amortised:
// a delay cut short or moved earlier leaves a stale heap slot behind, and
// stale slots are dropped in one pass once they outnumber the live ones. The
// queue starts no goroutine: a single timer moves delayed items to ready
// when they are due. It keeps no reference to an item that has left it (Done
// with no re-add, or dropped by ShutDown).
//
// # Introspection
//
// [Queue.Snapshot] lists every item with its state (queued with its
// priority, waiting with its ready time, processing since when), whether
// it was added again while processing, and its retry count: one consistent
// view, taken under one short hold of the lock that copies each item's
// record (O(n), no allocation under the lock; TestSnapshot). Times are
// recorded when Options.Metrics or Options.Timestamps is set.
//
// # Metrics
//
// A [MetricsProvider] in [Options] receives the queue's depth, adds, queue
// and work durations, unfinished work, longest running processor,
// retries and the age of the item ready longest ([InFlight].OldestReady,
// computed at scrape time in O(ready items)). Package metrics provides one for Prometheus with the names that
// client-go and controller-runtime use, so existing dashboards carry over.
//
// # Example
//
//	q, err := workqueue.New(workqueue.Options[controlloop.Key]{Name: "pods"})
//	if err != nil {
//		return err // invalid options
//	}
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
