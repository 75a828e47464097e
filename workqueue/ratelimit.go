package workqueue

import (
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
	return NewMaxOf(
		NewItemExponential[T](5*time.Millisecond, 1000*time.Second),
		NewBucket[T](10, 100),
	)
}

// ItemExponential delays an item base*2^(failures-1), capped at max: the
// backoff of one item grows with its own failures only.
type ItemExponential[T comparable] struct {
	base, max time.Duration

	mu       sync.Mutex // protects failures
	failures map[T]int
}

// NewItemExponential returns a per-item exponential limiter. A base or max
// that is not positive is taken as 5ms or 1000s respectively.
func NewItemExponential[T comparable](base, max time.Duration) *ItemExponential[T] {
	if base <= 0 {
		base = 5 * time.Millisecond
	}
	if max <= 0 {
		max = 1000 * time.Second
	}
	return &ItemExponential[T]{base: base, max: max, failures: make(map[T]int)}
}

// When implements [RateLimiter]. It never overflows: past the cap it
// returns max however many failures are on record.
func (r *ItemExponential[T]) When(item T) time.Duration {
	r.mu.Lock()
	n := r.failures[item]
	r.failures[item] = n + 1
	r.mu.Unlock()

	// base<<n overflows long before n reaches 63; stop doubling at the cap.
	d := r.base
	for range n {
		if d > r.max/2 {
			return r.max
		}
		d *= 2
	}
	return min(d, r.max)
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
type Bucket[T comparable] struct {
	limiter *rate.Limiter
}

// NewBucket returns a token-bucket limiter allowing qps retries per second
// with bursts of burst.
func NewBucket[T comparable](qps rate.Limit, burst int) *Bucket[T] {
	return &Bucket[T]{limiter: rate.NewLimiter(qps, burst)}
}

// When implements [RateLimiter]: it reserves a token and returns the wait.
func (r *Bucket[T]) When(T) time.Duration { return r.limiter.Reserve().Delay() }

// Forget implements [RateLimiter]; a shared bucket has nothing to forget.
func (r *Bucket[T]) Forget(T) {}

// NumRequeues implements [RateLimiter]; it is always 0.
func (r *Bucket[T]) NumRequeues(T) int { return 0 }

// MaxOf combines limiters: each failure is recorded by all of them and the
// longest delay wins.
type MaxOf[T comparable] struct {
	limiters []RateLimiter[T]
}

// NewMaxOf returns a limiter that waits as long as the slowest of limiters.
func NewMaxOf[T comparable](limiters ...RateLimiter[T]) *MaxOf[T] {
	return &MaxOf[T]{limiters: limiters}
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
type FastSlow[T comparable] struct {
	fast, slow time.Duration
	maxFast    int

	mu       sync.Mutex // protects failures
	failures map[T]int
}

// NewFastSlow returns a limiter that waits fast for an item's first maxFast
// failures and slow for every later one.
func NewFastSlow[T comparable](fast, slow time.Duration, maxFast int) *FastSlow[T] {
	return &FastSlow[T]{fast: fast, slow: slow, maxFast: maxFast, failures: make(map[T]int)}
}

// When implements [RateLimiter].
func (r *FastSlow[T]) When(item T) time.Duration {
	r.mu.Lock()
	n := r.failures[item] + 1
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
