package workqueue

import "time"

// Options configure a [Queue]. The zero value is a valid configuration.
type Options[T comparable] struct {
	// Name identifies the queue in metrics. Defaults to "" (metrics are
	// still recorded, under an empty name).
	Name string
	// RateLimiter decides the delay of [Queue.AddRateLimited]. Defaults to
	// [DefaultControllerRateLimiter].
	RateLimiter RateLimiter[T]
	// Metrics, if set, receives the queue's metrics. Defaults to nil: no
	// metrics, and no clock reads or bookkeeping for them.
	Metrics MetricsProvider
}

// AddOptions qualify one add. The zero value is a plain [Queue.Add].
type AddOptions struct {
	// After delays the item: it becomes ready this long from now. Zero or
	// negative means ready now.
	After time.Duration
	// RateLimited adds the rate limiter's delay for the item (its When)
	// to After, and counts the add as a retry.
	RateLimited bool
	// Priority orders ready items: higher first, first-in-first-out within a
	// level. An item added again keeps the highest priority it was given.
	// Defaults to 0.
	Priority int
}
