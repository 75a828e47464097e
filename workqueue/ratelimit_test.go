package workqueue_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/workqueue"
	"golang.org/x/time/rate"
)

var (
	_ workqueue.RateLimiter[string] = (*workqueue.ItemExponential[string])(nil)
	_ workqueue.RateLimiter[string] = (*workqueue.Bucket[string])(nil)
	_ workqueue.RateLimiter[string] = (*workqueue.MaxOf[string])(nil)
	_ workqueue.RateLimiter[string] = (*workqueue.FastSlow[string])(nil)
)

func TestItemExponentialIsPerItemAndCapped(t *testing.T) {
	l := must(workqueue.NewItemExponential[string](5*time.Millisecond, 1000*time.Second))
	if d := l.When("a"); d != 5*time.Millisecond {
		t.Fatalf("first delay %v, want 5ms", d)
	}
	if d := l.When("a"); d != 10*time.Millisecond {
		t.Fatalf("second delay %v, want 10ms", d)
	}
	if d := l.When("b"); d != 5*time.Millisecond {
		t.Fatalf("another item's first delay %v, want 5ms: backoff is per item", d)
	}
	var d time.Duration
	for range 10_000 { // far past where base<<n overflows int64
		d = l.When("a")
		if d <= 0 || d > 1000*time.Second {
			t.Fatalf("delay %v out of (0, 1000s]", d)
		}
	}
	if d != 1000*time.Second {
		t.Fatalf("delay after many failures %v, want the cap", d)
	}
	if n := l.NumRequeues("a"); n != 10_002 {
		t.Fatalf("NumRequeues = %d, want 10002", n)
	}
	// A cap past half the range: doubling up to it must not overflow either.
	huge := must(workqueue.NewItemExponential[string](time.Nanosecond, math.MaxInt64))
	for i := range 100 {
		if d := huge.When("a"); d <= 0 {
			t.Fatalf("failure %d of a limiter capped at math.MaxInt64: delay %v, want positive", i+1, d)
		}
	}
	if d := huge.When("a"); d != math.MaxInt64 {
		t.Fatalf("delay after 101 failures %v, want the cap", d)
	}
}

func TestLimiterConstructorsRefuseInvalidArguments(t *testing.T) {
	cases := []struct {
		name string
		err  func() error
		want string // the message names the constructor, the parameter, the value and the rule
	}{
		{"exponential zero base", func() error {
			_, err := workqueue.NewItemExponential[int](0, time.Second)
			return err
		}, "workqueue: NewItemExponential: base is 0s: must be positive"},
		{"exponential negative base", func() error {
			_, err := workqueue.NewItemExponential[int](-time.Millisecond, time.Second)
			return err
		}, "workqueue: NewItemExponential: base is -1ms: must be positive"},
		{"exponential max below base", func() error {
			_, err := workqueue.NewItemExponential[int](time.Second, time.Millisecond)
			return err
		}, "workqueue: NewItemExponential: max is 1ms: must not be less than base (1s)"},
		{"bucket zero qps", func() error {
			_, err := workqueue.NewBucket[int](0, 10)
			return err
		}, "workqueue: NewBucket: qps is 0: must be positive"},
		{"bucket negative qps", func() error {
			_, err := workqueue.NewBucket[int](-1, 10)
			return err
		}, "workqueue: NewBucket: qps is -1: must be positive"},
		{"bucket NaN qps", func() error {
			_, err := workqueue.NewBucket[int](rate.Limit(math.NaN()), 10)
			return err
		}, "workqueue: NewBucket: qps is NaN: must be positive"},
		{"bucket zero burst", func() error {
			_, err := workqueue.NewBucket[int](10, 0)
			return err
		}, "workqueue: NewBucket: burst is 0: must be positive"},
		{"fast-slow negative fast", func() error {
			_, err := workqueue.NewFastSlow[int](-time.Second, time.Second, 1)
			return err
		}, "workqueue: NewFastSlow: fast is -1s: must not be negative"},
		{"fast-slow slow below fast", func() error {
			_, err := workqueue.NewFastSlow[int](time.Second, time.Millisecond, 1)
			return err
		}, "workqueue: NewFastSlow: slow is 1ms: must not be less than fast (1s)"},
		{"fast-slow negative maxFast", func() error {
			_, err := workqueue.NewFastSlow[int](time.Millisecond, time.Second, -1)
			return err
		}, "workqueue: NewFastSlow: maxFast is -1: must not be negative"},
		{"max-of none", func() error {
			_, err := workqueue.NewMaxOf[int]()
			return err
		}, "workqueue: NewMaxOf: the number of limiters is 0: must be at least 1"},
		{"max-of nil", func() error {
			_, err := workqueue.NewMaxOf(workqueue.DefaultControllerRateLimiter[int](), nil)
			return err
		}, "workqueue: NewMaxOf: limiters[1] is nil: must not be nil"},
		{"max-of nil pointer", func() error {
			_, err := workqueue.NewMaxOf[int]((*workqueue.Bucket[int])(nil))
			return err
		}, "workqueue: NewMaxOf: limiters[0] is nil: must not be nil"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err()
			if !errors.Is(err, controlloop.ErrInvalid) {
				t.Fatalf("error %v, want one wrapping controlloop.ErrInvalid", err)
			}
			if want := tc.want + ": " + controlloop.ErrInvalid.Error(); err.Error() != want {
				t.Fatalf("error %q, want %q", err, want)
			}
		})
	}
}

func TestLimiterConstructorsAcceptBoundaryArguments(t *testing.T) {
	if _, err := workqueue.NewItemExponential[int](time.Second, time.Second); err != nil {
		t.Errorf("NewItemExponential(1s, 1s) = %v: max may equal base", err)
	}
	if _, err := workqueue.NewBucket[int](rate.Inf, 1); err != nil {
		t.Errorf("NewBucket(Inf, 1) = %v: an unlimited bucket is valid", err)
	}
	if _, err := workqueue.NewFastSlow[int](0, 0, 0); err != nil {
		t.Errorf("NewFastSlow(0, 0, 0) = %v: zero delays and no fast retries are valid", err)
	}
}

// TestZeroLimitersNeverDelay checks the documented zero values: usable, no
// delay, failures still counted where the limiter counts them.
func TestZeroLimitersNeverDelay(t *testing.T) {
	limiters := map[string]struct {
		l      workqueue.RateLimiter[string]
		counts bool
	}{
		"ItemExponential": {&workqueue.ItemExponential[string]{}, true},
		"FastSlow":        {&workqueue.FastSlow[string]{}, true},
		"Bucket":          {&workqueue.Bucket[string]{}, false},
		"MaxOf":           {&workqueue.MaxOf[string]{}, false},
	}
	for name, tc := range limiters {
		t.Run(name, func(t *testing.T) {
			tc.l.Forget("a") // before any failure: a no-op
			for range 3 {
				if d := tc.l.When("a"); d != 0 {
					t.Fatalf("When = %v, want 0", d)
				}
			}
			want := 0
			if tc.counts {
				want = 3
			}
			if n := tc.l.NumRequeues("a"); n != want {
				t.Fatalf("NumRequeues = %d, want %d", n, want)
			}
			tc.l.Forget("a")
			if n := tc.l.NumRequeues("a"); n != 0 {
				t.Fatalf("NumRequeues after Forget = %d", n)
			}
		})
	}
}

func TestFastSlow(t *testing.T) {
	l := must(workqueue.NewFastSlow[string](time.Millisecond, time.Minute, 2))
	for i, want := range []time.Duration{time.Millisecond, time.Millisecond, time.Minute, time.Minute} {
		if d := l.When("a"); d != want {
			t.Fatalf("failure %d: %v, want %v", i+1, d, want)
		}
	}
	if n := l.NumRequeues("a"); n != 4 {
		t.Fatalf("NumRequeues = %d, want 4", n)
	}
	l.Forget("a")
	if d := l.When("a"); d != time.Millisecond {
		t.Fatalf("after Forget: %v, want fast again", d)
	}
}

func TestMaxOf(t *testing.T) {
	l := must(workqueue.NewMaxOf(
		workqueue.RateLimiter[string](must(workqueue.NewFastSlow[string](time.Millisecond, time.Minute, 1))),
		must(workqueue.NewItemExponential[string](time.Second, time.Hour)),
	))
	if d := l.When("a"); d != time.Second {
		t.Fatalf("first: %v, want 1s (the exponential one)", d)
	}
	if d := l.When("a"); d != time.Minute {
		t.Fatalf("second: %v, want 1m (the slow one)", d)
	}
	if n := l.NumRequeues("a"); n != 2 {
		t.Fatalf("NumRequeues = %d, want 2", n)
	}
	l.Forget("a")
	if n := l.NumRequeues("a"); n != 0 {
		t.Fatalf("NumRequeues after Forget = %d: Forget must reach every limiter", n)
	}
}
