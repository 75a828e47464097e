package reflector_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/memstore"
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

// TestShortWatchBacksOff checks that a watch that ends before any event is
// reported as ErrShortWatch and, right after a list, watched again at once,
// then after a backoff, not in a tight loop (the source here gives up after
// 10 watches, so that a reflector that did not back off fails rather than
// spins).
func TestShortWatchBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var seen errs
		_, lw, _, r := setup(t, 1, reflector.Options{Jitter: -1, WatchErrorHandler: seen.handle})
		calls := 0
		lw.setWatch(func(ctx context.Context, _ controlloop.WatchOptions) (<-chan controlloop.Event[*Pod], error) {
			calls++ // called from the reflector's goroutine only
			ch := make(chan controlloop.Event[*Pod])
			if calls <= 10 {
				close(ch)
			} else {
				go func() { <-ctx.Done(); close(ch) }()
			}
			return ch, nil
		})
		start(t, r)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		_, watches := lw.calls()
		if got := gaps(watches, 0); !slices.Equal(got, []time.Duration{0, 800 * time.Millisecond}) {
			t.Errorf("gaps between watches %v, want [0s 800ms] in the first 2s: one retry at once, then the backoff", got)
		}
		if got := seen.all(); len(got) == 0 || !errors.Is(got[0], reflector.ErrShortWatch) {
			t.Errorf("handler saw %v, want ErrShortWatch", got)
		}
	})
}

// TestShortWatchAfterCleanEndRetriedAtOnce checks that a watch that fails at
// once after a watch that delivered events and ended cleanly is watched
// again at once, and only a second failure in a row backs off: a dropped
// connection costs no backoff, during which the version could leave the
// source's history.
func TestShortWatchAfterCleanEndRetriedAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, lw, _, r := setup(t, 1, reflector.Options{Jitter: -1})
		calls := 0
		lw.setWatch(func(ctx context.Context, _ controlloop.WatchOptions) (<-chan controlloop.Event[*Pod], error) {
			calls++ // called from the reflector's goroutine only
			ch := make(chan controlloop.Event[*Pod], 1)
			switch {
			case calls == 1: // one event, then a clean end
				p := pod("ns", "y")
				p.ResourceVersion = "100"
				ch <- controlloop.Event[*Pod]{Type: controlloop.Added, Object: p, ResourceVersion: "100"}
				close(ch)
			case calls <= 4: // ends before any event
				close(ch)
			default:
				go func() { <-ctx.Done(); close(ch) }()
			}
			return ch, nil
		})
		start(t, r)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		_, watches := lw.calls()
		want := []time.Duration{0, 0, 800 * time.Millisecond}
		if got := gaps(watches, 0); !slices.Equal(got, want) {
			t.Errorf("gaps between watches %v, want %v: the re-watch after the clean end and one retry at once, then the backoff", got, want)
		}
	})
}

// TestNothingReportedWhenContextEnds checks that an error caused by the end
// of Run's context (here, a List that returns ctx.Err()) reaches neither
// the watch error handler nor a retry.
func TestNothingReportedWhenContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var seen errs
		store := must(memstore.New[*Pod](memstore.Options{}))
		r, err := reflector.New[*Pod](blockingList{newSpy(store)}, newSink(), reflector.Options{Logger: quiet, WatchErrorHandler: seen.handle})
		if err != nil {
			t.Fatal(err)
		}
		stop := start(t, r) // blocked in List
		stop()
		if got := seen.all(); len(got) != 0 {
			t.Errorf("handler saw %v after the context ended, want nothing", got)
		}
	})
}

// blockingList is a source whose List blocks until its context ends.
type blockingList struct{ *spy }

func (b blockingList) List(ctx context.Context, _ controlloop.ListOptions) (controlloop.ListResult[*Pod], error) {
	<-ctx.Done()
	return controlloop.ListResult[*Pod]{}, ctx.Err()
}

// TestStopDrainsWatch checks that Run reads the watch's channel until the
// source closes it, so that a source that sends without watching its
// context is not left blocked (the bubble fails on a goroutine left).
func TestStopDrainsWatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, lw, _, r := setup(t, 1, reflector.Options{})
		lw.setWatch(func(ctx context.Context, opts controlloop.WatchOptions) (<-chan controlloop.Event[*Pod], error) {
			ch := make(chan controlloop.Event[*Pod])
			go func() {
				defer close(ch)
				ev := controlloop.Event[*Pod]{Type: controlloop.Bookmark, ResourceVersion: opts.ResourceVersion}
				ch <- ev
				<-ctx.Done()
				ch <- ev // a send the source makes after cancellation, before it closes
			}()
			return ch, nil
		})
		stop := start(t, r)
		stop()
	})
}

// TestBackoffDefaultsFollowTheOtherBound checks the defaults of the two
// bounds when only the other is set: InitialBackoff defaults to MaxBackoff
// if that is below 800ms, and MaxBackoff to InitialBackoff if that is above
// 30s.
func TestBackoffDefaultsFollowTheOtherBound(t *testing.T) {
	for _, c := range []struct {
		opts reflector.Options
		want []time.Duration
	}{
		{reflector.Options{MaxBackoff: 100 * time.Millisecond}, []time.Duration{100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond}},
		{reflector.Options{InitialBackoff: time.Minute}, []time.Duration{time.Minute, time.Minute, time.Minute}},
	} {
		synctest.Test(t, func(t *testing.T) {
			c.opts.Jitter = -1
			_, lw, _, r := setup(t, 1, c.opts)
			lw.setWatch(refuse)
			start(t, r)
			time.Sleep(4 * time.Minute)
			_, calls := lw.calls()
			if got := gaps(calls, 0); len(got) < len(c.want) || !slices.Equal(got[:len(c.want)], c.want) {
				t.Errorf("Options %+v: gaps %v, want %v first", c.opts, got, c.want)
			}
		})
	}
}
