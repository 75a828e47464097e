package workqueue

import (
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// A RateLimiter decides how long an item waits before it is retried.
// Implementations must be safe for concurrent use.
type RateLimiter[T comparable] interface {
	// When records a failure of item and returns how long to wait before
	// retrying it.
	When(item T) time.Duration
	// Forget clears item's failure history: its next When starts afresh.
	Forget(item T)
	// NumRequeues returns how many failures of item are on record.
	NumRequeues(item T) int
}

// DefaultControllerRateLimiter returns the limiter controllers use unless
// told otherwise: the larger of a per-item exponential backoff (5ms doubling
// to 1000s) and an overall token bucket (10 per second, bursts of 100), so
// one failing item backs off alone while a storm of failures is capped as a
// whole.
func DefaultControllerRateLimiter[T comparable]() RateLimiter[T] {
	return &MaxOf[T]{limiters: []RateLimiter[T]{
		&ItemExponential[T]{base: 5 * time.Millisecond, max: 1000 * time.Second},
		&Bucket[T]{limiter: rate.NewLimiter(10, 100)},
	}}
}

// ItemExponential delays an item base*2^(failures-1), capped at max: the
// backoff of one item grows with its own failures only.
//
// The zero ItemExponential never delays, and counts failures.
type ItemExponential[T comparable] struct {
	base, max time.Duration

	mu       sync.Mutex // protects failures
	failures map[T]int  // made on first use
}

// NewItemExponential returns a per-item exponential limiter that waits base
// after an item's first failure, doubling with each further one up to max.
// base must be positive and max at least base; otherwise it returns an
// error wrapping [controlloop.ErrInvalid].
func NewItemExponential[T comparable](base, max time.Duration) (*ItemExponential[T], error) {
	switch {
	case base <= 0:
		return nil, invalid("NewItemExponential: base", base, "must be positive")
	case max < base:
		return nil, invalid("NewItemExponential: max", max, "must not be less than base ("+base.String()+")")
	}
	return &ItemExponential[T]{base: base, max: max}, nil
}

// When implements [RateLimiter]. It never overflows: past the cap it
// returns max however many failures are on record.
func (r *ItemExponential[T]) When(item T) time.Duration {
	r.mu.Lock()
	n := r.failures[item]
	if r.failures == nil {
		r.failures = make(map[T]int)
	}
	r.failures[item] = n + 1
	r.mu.Unlock()

	// base<<n overflows long before n reaches 63; stop doubling at the cap.
	// d starts at base <= max and doubles only while it stays <= max.
	d := r.base
	for range n {
		if d > r.max/2 {
			return r.max
		}
		d *= 2
	}
	return d
}

// Forget implements [RateLimiter].
func (r *ItemExponential[T]) Forget(item T) {
	r.mu.Lock()
	if len(r.failures) > 0 { // the common case, no failures, skips hashing
		delete(r.failures, item)
	}
	r.mu.Unlock()
}

// NumRequeues implements [RateLimiter].
func (r *ItemExponential[T]) NumRequeues(item T) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failures[item]
}

// Bucket is an overall token bucket shared by all items: it keeps the total
// retry rate at qps with bursts of burst. It keeps no per-item history, so
// NumRequeues is always 0.
//
// The zero Bucket never delays.
type Bucket[T comparable] struct {
	limiter *rate.Limiter // nil: never delays
}

// NewBucket returns a token-bucket limiter allowing qps retries per second
// ([rate.Inf]: no limit) with bursts of burst. qps and burst must be
// positive; otherwise it returns an error wrapping [controlloop.ErrInvalid]
// (a bucket that never refills would delay every retry past the burst
// forever).
func NewBucket[T comparable](qps rate.Limit, burst int) (*Bucket[T], error) {
	switch {
	case !(qps > 0): // also refuses NaN
		return nil, invalid("NewBucket: qps", qps, "must be positive")
	case burst <= 0:
		return nil, invalid("NewBucket: burst", burst, "must be positive")
	}
	return &Bucket[T]{limiter: rate.NewLimiter(qps, burst)}, nil
}

// When implements [RateLimiter]: it reserves a token and returns the wait.
func (r *Bucket[T]) When(T) time.Duration {
	if r.limiter == nil {
		return 0
	}
	return r.limiter.Reserve().Delay()
}

// Forget implements [RateLimiter]; a shared bucket has nothing to forget.
func (r *Bucket[T]) Forget(T) {}

// NumRequeues implements [RateLimiter]; it is always 0.
func (r *Bucket[T]) NumRequeues(T) int { return 0 }

// MaxOf combines limiters: each failure is recorded by all of them and the
// longest delay wins.
//
// The zero MaxOf combines no limiter: it never delays.
type MaxOf[T comparable] struct {
	limiters []RateLimiter[T]
}

// NewMaxOf returns a limiter that waits as long as the slowest of limiters.
// It needs at least one limiter, and none may be nil; otherwise it returns
// an error wrapping [controlloop.ErrInvalid].
func NewMaxOf[T comparable](limiters ...RateLimiter[T]) (*MaxOf[T], error) {
	if len(limiters) == 0 {
		return nil, invalid("NewMaxOf: the number of limiters", 0, "must be at least 1")
	}
	for i, l := range limiters {
		if l == nil || isNil(l) {
			return nil, invalid("NewMaxOf: limiters["+strconv.Itoa(i)+"]", "nil", "must not be nil")
		}
	}
	return &MaxOf[T]{limiters: slices.Clone(limiters)}, nil
}

// When implements [RateLimiter].
func (r *MaxOf[T]) When(item T) time.Duration {
	var d time.Duration
	for _, l := range r.limiters {
		d = max(d, l.When(item))
	}
	return d
}

// Forget implements [RateLimiter] by forgetting item in every limiter.
func (r *MaxOf[T]) Forget(item T) {
	for _, l := range r.limiters {
		l.Forget(item)
	}
}

// NumRequeues implements [RateLimiter]: the largest count of any limiter.
func (r *MaxOf[T]) NumRequeues(item T) int {
	n := 0
	for _, l := range r.limiters {
		n = max(n, l.NumRequeues(item))
	}
	return n
}

// FastSlow retries an item quickly a few times, then slowly: fast for the
// first maxFast failures, slow after.
//
// The zero FastSlow never delays, and counts failures.
type FastSlow[T comparable] struct {
	fast, slow time.Duration
	maxFast    int

	mu       sync.Mutex // protects failures
	failures map[T]int  // made on first use
}

// NewFastSlow returns a limiter that waits fast for an item's first maxFast
// failures and slow for every later one. fast and maxFast must not be
// negative and slow must not be less than fast; otherwise it returns an
// error wrapping [controlloop.ErrInvalid].
func NewFastSlow[T comparable](fast, slow time.Duration, maxFast int) (*FastSlow[T], error) {
	switch {
	case fast < 0:
		return nil, invalid("NewFastSlow: fast", fast, "must not be negative")
	case slow < fast:
		return nil, invalid("NewFastSlow: slow", slow, "must not be less than fast ("+fast.String()+")")
	case maxFast < 0:
		return nil, invalid("NewFastSlow: maxFast", maxFast, "must not be negative")
	}
	return &FastSlow[T]{fast: fast, slow: slow, maxFast: maxFast}, nil
}

// When implements [RateLimiter].
func (r *FastSlow[T]) When(item T) time.Duration {
	r.mu.Lock()
	n := r.failures[item] + 1
	if r.failures == nil {
		r.failures = make(map[T]int)
	}
	r.failures[item] = n
	r.mu.Unlock()
	if n <= r.maxFast {
		return r.fast
	}
	return r.slow
}

// Forget implements [RateLimiter].
func (r *FastSlow[T]) Forget(item T) {
	r.mu.Lock()
	if len(r.failures) > 0 {
		delete(r.failures, item)
	}
	r.mu.Unlock()
}

// NumRequeues implements [RateLimiter].
func (r *FastSlow[T]) NumRequeues(item T) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failures[item]
}
