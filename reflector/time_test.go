package reflector_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/reflector"
	"github.com/google/go-cmp/cmp"
)

// refuse is a Watch that always fails.
func refuse(context.Context, controlloop.WatchOptions) (<-chan controlloop.Event[*Pod], error) {
	return nil, errors.New("refused")
}

// gaps returns the delays between consecutive watch calls from index from.
func gaps(calls []watchCall, from int) []time.Duration {
	var out []time.Duration
	for i := from + 1; i < len(calls); i++ {
		out = append(out, calls[i].at.Sub(calls[i-1].at))
	}
	return out
}

// TestBackoffDoublesCapsAndResets checks the default schedule (issue #3) without jitter:
// 800ms doubling to the 30s cap, then back to 800ms after a healthy 2m.
func TestBackoffDoublesCapsAndResets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store, lw, _, r := setup(t, 1, reflector.Options{Jitter: -1})
		lw.setWatch(refuse)
		start(t, r)
		time.Sleep(2 * time.Minute)
		_, calls := lw.calls()
		want := []time.Duration{
			800 * time.Millisecond, 1600 * time.Millisecond, 3200 * time.Millisecond,
			6400 * time.Millisecond, 12800 * time.Millisecond, 25600 * time.Millisecond,
			30 * time.Second,
		}
		got := gaps(calls, 0)
		if len(got) < len(want) {
			t.Fatalf("gaps %v, want at least %v", got, want)
		}
		if diff := cmp.Diff(want, got[:len(want)]); diff != "" {
			t.Errorf("backoff schedule (-want +got):\n%s", diff)
		}

		// Healthy for over 2m, then a failure: the delay starts over.
		lw.setWatch(nil)
		time.Sleep(31 * time.Second) // the pending retry succeeds
		mustCreate(t, store, pod("ns", "a"))
		time.Sleep(3 * time.Minute)
		lw.setWatch(refuse)
		_, calls = lw.calls()
		n := len(calls)
		store.BreakWatches() // clean end: re-watch at once, which is refused
		time.Sleep(time.Second)
		_, calls = lw.calls()
		if got := gaps(calls, n); len(got) != 1 || got[0] != 800*time.Millisecond {
			t.Errorf("after a healthy period: gaps %v, want [800ms]", got)
		}
	})
}

// TestBackoffJitter checks that jittered delays stay within [d, 2d) and are
// not all equal.
func TestBackoffJitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, lw, _, r := setup(t, 1, reflector.Options{InitialBackoff: time.Second, MaxBackoff: time.Second})
		lw.setWatch(refuse)
		start(t, r)
		time.Sleep(time.Minute)
		_, calls := lw.calls()
		got := gaps(calls, 0)
		if len(got) < 20 {
			t.Fatalf("only %d retries in a minute", len(got))
		}
		distinct := map[time.Duration]bool{}
		for _, g := range got {
			distinct[g] = true
			if g < time.Second || g >= 2*time.Second {
				t.Errorf("delay %v outside [1s, 2s)", g)
			}
		}
		if len(distinct) < 2 {
			t.Errorf("all %d delays equal %v: no jitter", len(got), got[0])
		}
	})
}

func TestResyncPeriod(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, _, sk, r := setup(t, 1, reflector.Options{ResyncPeriod: 30 * time.Second})
		begin := time.Now()
		start(t, r)
		time.Sleep(95 * time.Second)
		synctest.Wait()
		sk.mu.Lock()
		var got []time.Duration
		for _, at := range sk.resyncs {
			got = append(got, at.Sub(begin))
		}
		sk.mu.Unlock()
		want := []time.Duration{30 * time.Second, 60 * time.Second, 90 * time.Second}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("resyncs (-want +got):\n%s", diff)
		}
	})
}

func TestResyncErrorRelists(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var seen errs
		_, lw, sk, r := setup(t, 1, reflector.Options{ResyncPeriod: time.Minute, WatchErrorHandler: seen.handle})
		sk.failNext("Resync", errors.New("no"))
		start(t, r)
		time.Sleep(time.Minute + 2*time.Second)
		synctest.Wait()
		if got := seen.all(); len(got) != 1 || !errors.Is(got[0], reflector.ErrStore) {
			t.Errorf("handler saw %v, want ErrStore", got)
		}
		if lists, _ := lw.calls(); len(lists) != 2 {
			t.Errorf("%d lists, want 2", len(lists))
		}
	})
}

// TestStopIsPrompt checks that Run returns at once when its context ends,
// whether it is backing off or watching.
func TestStopIsPrompt(t *testing.T) {
	for _, failing := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			_, lw, _, r := setup(t, 1, reflector.Options{InitialBackoff: time.Hour})
			if failing {
				lw.setWatch(refuse)
			}
			stop := start(t, r)
			begin := time.Now()
			stop()
			if waited := time.Since(begin); waited != 0 {
				t.Errorf("Run took %v to stop", waited)
			}
		})
	}
}
