package workqueue

import "time"

// MetricsProvider creates the metrics of each queue that is given it in
// [Options]. Package metrics implements it for Prometheus.
type MetricsProvider interface {
	// NewQueueMetrics returns the metrics of the queue called name.
	// inFlight reports, when called, the work handed out and not yet Done;
	// it is safe to call from any goroutine at any time (a scrape, say),
	// and costs time proportional to the number of items in flight.
	NewQueueMetrics(name string, inFlight func() InFlight) QueueMetrics
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

// InFlight describes the items handed out and not yet Done.
type InFlight struct {
	// Unfinished is the total time the in-flight items have been worked on.
	Unfinished time.Duration
	// Longest is how long the oldest in-flight item has been worked on.
	Longest time.Duration
}
