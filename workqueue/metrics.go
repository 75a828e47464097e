package workqueue

import "time"

// MetricsProvider creates the metrics of each queue that is given it in
// [Options]. Package metrics implements it for Prometheus.
type MetricsProvider interface {
	// ForQueue returns the metrics of the queue called name.
	// inFlight reports, when called, the work handed out and not yet Done
	// and the age of the oldest ready item; it is safe to call from any
	// goroutine at any time (a scrape, say), and costs time proportional
	// to the number of items ready or in flight, under the queue's lock.
	ForQueue(name string, inFlight func() InFlight) QueueMetrics
}

// QueueMetrics records what happens to one queue. The queue calls it with
// its lock held, so implementations must be fast and must not call back into
// the queue.
type QueueMetrics interface {
	// Added: an item entered the queue (an add that deduplication absorbed
	// is not counted). Depth goes up by one.
	Added()
	// Started: an item was handed to a worker after waiting ready for
	// queued. Depth goes down by one.
	Started(queued time.Duration)
	// Finished: a worker called Done after working for worked.
	Finished(worked time.Duration)
	// Retried: an item was added with a delay or through the rate limiter.
	Retried()
}

// InFlight describes the ages of a queue's work: the items handed out and
// not yet Done, and the oldest item ready for a worker.
type InFlight struct {
	// Unfinished is the total time the in-flight items have been worked on.
	Unfinished time.Duration
	// Longest is how long the oldest in-flight item has been worked on.
	Longest time.Duration
	// OldestReady is how long the item that has been ready longest has
	// waited for a worker; zero when no item is ready. A queue that grows
	// it steadily has too few workers, or a worker that is stuck.
	OldestReady time.Duration
}
