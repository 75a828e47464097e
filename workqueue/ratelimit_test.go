package workqueue_test

import (
	"testing"
	"time"

	"github.com/controlloop/controlloop/workqueue"
)

var (
	_ workqueue.RateLimiter[string] = (*workqueue.ItemExponential[string])(nil)
	_ workqueue.RateLimiter[string] = (*workqueue.Bucket[string])(nil)
	_ workqueue.RateLimiter[string] = (*workqueue.MaxOf[string])(nil)
	_ workqueue.RateLimiter[string] = (*workqueue.FastSlow[string])(nil)
)

func TestItemExponentialIsPerItemAndCapped(t *testing.T) {
	l := workqueue.NewItemExponential[string](5*time.Millisecond, 1000*time.Second)
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
}

func TestItemExponentialDefaults(t *testing.T) {
	l := workqueue.NewItemExponential[int](0, -1)
	if d := l.When(1); d != 5*time.Millisecond {
		t.Fatalf("default base %v, want 5ms", d)
	}
	for range 100 {
		l.When(1)
	}
	if d := l.When(1); d != 1000*time.Second {
		t.Fatalf("default cap %v, want 1000s", d)
	}
}

func TestFastSlow(t *testing.T) {
	l := workqueue.NewFastSlow[string](time.Millisecond, time.Minute, 2)
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
	l := workqueue.NewMaxOf(
		workqueue.NewFastSlow[string](time.Millisecond, time.Minute, 1),
		workqueue.NewItemExponential[string](time.Second, time.Hour),
	)
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
