package workqueue

import (
	"reflect"
	"strconv"
	"time"
	"unicode/utf8"
)

// Options configure a [Queue]. The zero value is a valid configuration.
type Options[T comparable] struct {
	// Name identifies the queue in metrics; it must be valid UTF-8, as
	// metric label values are. Defaults to "" (metrics are still recorded,
	// under an empty name).
	Name string
	// RateLimiter decides the delay of [Queue.AddRateLimited]; it must not
	// be a nil pointer. Defaults to [DefaultControllerRateLimiter].
	RateLimiter RateLimiter[T]
	// Metrics, if set, receives the queue's metrics; it must not be a nil
	// pointer. Defaults to nil: no metrics, and no clock reads or
	// bookkeeping for them.
	Metrics MetricsProvider
	// Timestamps, if true, makes the queue record when each item became
	// ready and when it started processing even without Metrics, for
	// [Queue.Snapshot]: one clock read per add and per Get. With Metrics
	// set they are recorded anyway. Defaults to false: Snapshot reports
	// zero Since times.
	Timestamps bool
}

func (o Options[T]) validate() error {
	switch {
	case !utf8.ValidString(o.Name):
		return invalid("Options.Name", strconv.Quote(o.Name), "must be valid UTF-8")
	case o.RateLimiter != nil && isNil(o.RateLimiter):
		return invalid("Options.RateLimiter", reflect.TypeOf(o.RateLimiter).String()+"(nil)", "must not be a nil pointer")
	case o.Metrics != nil && isNil(o.Metrics):
		return invalid("Options.Metrics", reflect.TypeOf(o.Metrics).String()+"(nil)", "must not be a nil pointer")
	}
	return nil
}

// isNil reports whether v, a non-nil interface value, holds a nil pointer,
// map, slice, channel or function, which a method call would trip over.
func isNil(v any) bool {
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Chan, reflect.Func:
		return rv.IsNil()
	}
	return false
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
