package shard

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// keysBySlot returns one key in each of the first n slots that have one.
func keysBySlot(m *Member, n int) map[int]controlloop.Key {
	keys := map[int]controlloop.Key{}
	for i := 0; len(keys) < n; i++ {
		k := controlloop.Key{Namespace: "ns", Name: "k" + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676))}
		if _, ok := keys[m.Slot(k)]; !ok {
			keys[m.Slot(k)] = k
		}
	}
	return keys
}

// TestHandoffWaitsAndIsCapped: a member that must give up slots whose keys
// are in flight drains at most MaxHandoffs of them at once, keeps each
// claim until its reconcile ends, and releases it then.
func TestHandoffWaitsAndIsCapped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, stop := context.WithCancel(context.Background())
		mem, _ := NewMemory(MemoryOptions{TTL: testTTL})
		regs := map[string]*prometheus.Registry{}
		run := func(id string) (*Member, chan struct{}) {
			regs[id] = prometheus.NewRegistry()
			m, err := New(mem, Options{Ring: testRing, ID: id, Slots: testSlots, Window: testWindow, MaxHandoffs: 1, DrainTimeout: time.Hour, Logger: quiet, Registerer: regs[id]})
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() { defer close(done); m.Run(ctx) }()
			return m, done
		}
		a, aDone := run("a")
		time.Sleep(testWindow + time.Second)
		// a has a reconcile in flight in every slot that b will take.
		ends := map[int]func(){}
		for slot, key := range keysBySlot(a, testSlots) {
			if Owner(slot, []string{"a", "b"}) != "b" {
				continue
			}
			_, end, ok := a.Begin(ctx, key)
			if !ok {
				t.Fatalf("a does not admit %v", key)
			}
			ends[slot] = end
		}
		b, bDone := run("b")
		time.Sleep(testWindow + time.Second)
		for released := 0; released < len(ends); released++ {
			synctest.Wait()
			if got := testutil.ToFloat64(a.metrics.draining); got != 1 {
				t.Fatalf("after %d releases, a drains %v slots at once, want 1 (MaxHandoffs)", released, got)
			}
			if got := len(b.Owned()); got != released {
				t.Fatalf("b owns %d slots before %d reconciles ended", got, released+1)
			}
			// End the reconcile of the slot being drained.
			a.mu.Lock()
			var slot int
			for s, h := range a.slots {
				if h.state == draining {
					slot = s
				}
			}
			a.mu.Unlock()
			ends[slot]()
			time.Sleep(time.Millisecond)
		}
		synctest.Wait()
		if got := len(b.Owned()); got != len(ends) {
			t.Errorf("b owns %d slots after every reconcile ended, want %d", got, len(ends))
		}
		if got := testutil.ToFloat64(a.metrics.handoffs); got != float64(len(ends)) {
			t.Errorf("a counted %v handoffs, want %d", got, len(ends))
		}
		// Each handoff waited for its reconcile: the first about a second
		// (the window), the others 1ms apart; none took no time at all.
		families, err := regs["a"].Gather()
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, f := range families {
			if f.GetName() != "shard_handoff_seconds" {
				continue
			}
			found = true
			h := f.GetMetric()[0].GetHistogram()
			if h.GetSampleCount() != uint64(len(ends)) || h.GetSampleSum() < 1 {
				t.Errorf("handoff_seconds: %d samples summing to %vs; want %d, at least 1s", h.GetSampleCount(), h.GetSampleSum(), len(ends))
			}
		}
		if !found {
			t.Error("no shard_handoff_seconds gathered")
		}
		stop()
		<-aDone
		<-bDone
	})
}

// TestRunStopsWithinBound: a member whose reconcile never ends still
// returns from Run within 2 × DrainTimeout of its context ending, and its
// leave frees its slots.
func TestRunStopsWithinBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, stop := context.WithCancel(context.Background())
		mem, _ := NewMemory(MemoryOptions{TTL: testTTL})
		const drain = 5 * time.Second
		m, err := New(mem, Options{Ring: testRing, ID: "a", Slots: testSlots, Window: testWindow, DrainTimeout: drain, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { defer close(done); m.Run(ctx) }()
		time.Sleep(testWindow + time.Second)
		if _, _, ok := m.Begin(ctx, controlloop.Key{Name: "stuck"}); !ok {
			t.Fatal("not admitted")
		}
		stop()
		start := time.Now()
		<-done
		if took := time.Since(start); took > 2*drain {
			t.Errorf("Run returned %v after ctx ended, more than 2 × DrainTimeout", took)
		}
		for slot, c := range mem.View(testRing).Claims {
			if c != (Claim{}) {
				t.Errorf("slot %d still claimed %+v after a left", slot, c)
			}
		}
	})
}

// TestFreshRetried: a freshness wait that fails leaves the claimed slots
// unworked only until the wait succeeds on a later try; a slot is never
// worked before its wait has succeeded.
func TestFreshRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, stop := context.WithCancel(context.Background())
		mem, _ := NewMemory(MemoryOptions{})
		var fails atomic.Int32
		fails.Store(3)
		m, err := New(mem, Options{Ring: testRing, ID: "a", Slots: testSlots, Window: testWindow, Logger: quiet,
			Fresh: func(ctx context.Context, rev int64) error {
				if fails.Add(-1) >= 0 {
					return errors.New("cache behind")
				}
				return nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { defer close(done); m.Run(ctx) }()
		time.Sleep(testWindow + time.Second)
		synctest.Wait()
		if got := len(m.Owned()); got != 0 {
			t.Fatalf("%d slots worked while the cache was behind", got)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if got := len(m.Owned()); got != testSlots {
			t.Errorf("%d slots worked after the wait succeeded, want %d", got, testSlots)
		}
		stop()
		<-done
	})
}
