package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/memstore"
	"github.com/google/go-cmp/cmp"
)

// TestBookmarks checks that a watch that asked for bookmarks learns, every
// BookmarkInterval, the version it has been brought to past changes its
// selector filtered out, and that bookmarks stop when nothing moved.
func TestBookmarks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		s := must(memstore.New[*Pod](memstore.Options{BookmarkInterval: time.Minute}))
		sel := controlloop.Selector{Namespace: "mine"}
		ch, err := s.Watch(ctx, controlloop.WatchOptions{Selector: sel, AllowBookmarks: true})
		if err != nil {
			t.Fatal(err)
		}
		plain, err := s.Watch(ctx, controlloop.WatchOptions{Selector: sel})
		if err != nil {
			t.Fatal(err)
		}
		mustCreate(t, s, pod("other", "a", nil)) // 1, filtered out
		mustCreate(t, s, pod("other", "b", nil)) // 2, filtered out
		start := time.Now()

		ev := <-ch
		if diff := cmp.Diff(evSummary{"Bookmark", "", "2"}, summary([]controlloop.Event[*Pod]{ev})[0]); diff != "" {
			t.Errorf("first event (-want +got):\n%s", diff)
		}
		if waited := time.Since(start); waited != time.Minute {
			t.Errorf("bookmark after %v, want 1m", waited)
		}

		// Nothing moved: the next tick sends nothing.
		time.Sleep(90 * time.Second)
		synctest.Wait()
		select {
		case ev := <-ch:
			t.Errorf("bookmark with nothing new: %+v", ev)
		default:
		}

		mustCreate(t, s, pod("mine", "c", nil)) // 3, delivered
		if ev := <-ch; ev.Type != controlloop.Added || ev.ResourceVersion != "3" {
			t.Errorf("got %+v, want Added at 3", ev)
		}
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		select {
		case ev := <-ch:
			t.Errorf("bookmark repeating a delivered version: %+v", ev)
		default:
		}
		// The watch that did not ask gets no bookmark, only its event.
		if ev := <-plain; ev.Type != controlloop.Added {
			t.Errorf("plain watch got %+v first, want Added", ev)
		}
		select {
		case ev := <-plain:
			t.Errorf("plain watch got %+v", ev)
		default:
		}
	})
}

// fill writes n pods and lets the watchers settle after each write, so that
// a watcher whose consumer does not read has taken all it can.
func fill(t *testing.T, s *memstore.Store[*Pod], prefix string, n int) {
	t.Helper()
	for i := range n {
		mustCreate(t, s, pod("", fmt.Sprintf("%s%03d", prefix, i), nil))
		synctest.Wait()
	}
}

// receive reads up to n events from ch, fewer if it closes.
func receive(ch <-chan controlloop.Event[*Pod], n int) []controlloop.Event[*Pod] {
	var evs []controlloop.Event[*Pod]
	for ev := range ch {
		evs = append(evs, ev)
		if len(evs) == n {
			break
		}
	}
	return evs
}

// TestLaggingWatchCatchesUp checks that a consumer that stops reading
// keeps its watch however many changes wait for it, while the history holds
// them (issue 14: memstore closed a watcher lagging 1,000 changes, and an
// informer under its controller's own writes re-watched 20-40 times a run):
// once it reads again, it receives every change, in order, then live ones.
func TestLaggingWatchCatchesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const lag = 5000 // more than the default history's half, less than it
		s := must(memstore.New[*Pod](memstore.Options{}))
		ch, err := s.Watch(t.Context(), controlloop.WatchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		fill(t, s, "p", lag)
		synctest.Wait() // the watcher has done all it does without a reader
		evs := receive(ch, lag)
		if len(evs) != lag {
			t.Fatalf("got %d of %d events: the lagging watch was closed", len(evs), lag)
		}
		for i, ev := range evs {
			if ev.Type != controlloop.Added || ev.ResourceVersion != fmt.Sprint(i+1) {
				t.Fatalf("event %d: %v at %s, want Added at %d", i, ev.Type, ev.ResourceVersion, i+1)
			}
		}
		fill(t, s, "q", 1)
		if ev := receive(ch, 1); len(ev) != 1 || ev[0].ResourceVersion != fmt.Sprint(lag+1) {
			t.Fatalf("live change after catching up: %+v", ev)
		}
	})
}

// TestCompactAtTheVersionAWatchNeedsNext checks the boundary of Compact: a
// watch whose next change to deliver is the last one compacted ends with
// ErrExpired, after the changes in its channel.
func TestCompactAtTheVersionAWatchNeedsNext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := must(memstore.New[*Pod](memstore.Options{}))
		ch, err := s.Watch(t.Context(), controlloop.WatchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		fill(t, s, "p", 40) // the watch took 1..33: 32 in its channel, 33 being sent
		if err := s.Compact("34"); err != nil {
			t.Fatal(err)
		}
		evs := drainClosed(t, ch)
		last := evs[len(evs)-1]
		if last.Type != controlloop.Error || !errors.Is(last.Err, controlloop.ErrExpired) {
			t.Fatalf("watch ended with %+v after %d events, want an ErrExpired Error event", last, len(evs)-1)
		}
		if n := len(evs) - 1; n != 32 {
			t.Fatalf("got %d changes before the error, want the 32 in the channel", n)
		}
	})
}

// TestWatchExpiresWhenHistoryPassesIt checks Options.MaxWatchLag's bound
// on a watcher (here no more than HistorySize): while its next change is
// in the history it stays open; once that change drops out of the window
// it ends at once, after only what its channel held, with an Error event
// wrapping ErrExpired, so that its consumer lists again.
func TestWatchExpiresWhenHistoryPassesIt(t *testing.T) {
	const history, inChannel = 40, 32
	for _, tc := range []struct {
		writes  int
		want    int // changes received before the channel closes, or all of them
		expired bool
	}{
		{inChannel + 1 + history, inChannel + 1 + history, false}, // 34..73 held: change 34 is the oldest
		{inChannel + 1 + history + 1, inChannel, true},            // change 34 has dropped out
	} {
		t.Run(fmt.Sprint(tc.writes, " writes"), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := must(memstore.New[*Pod](memstore.Options{HistorySize: history, MaxWatchLag: history}))
				ch, err := s.Watch(t.Context(), controlloop.WatchOptions{})
				if err != nil {
					t.Fatal(err)
				}
				fill(t, s, "p", tc.writes) // the watch takes 1..33: 32 in its channel, 33 being sent
				evs := receive(ch, tc.writes)
				var changes int
				var last controlloop.Event[*Pod]
				for _, ev := range evs {
					if ev.Type == controlloop.Added {
						changes++
					}
					last = ev
				}
				if changes != tc.want {
					t.Fatalf("got %d changes, want %d", changes, tc.want)
				}
				if gotExpired := last.Type == controlloop.Error && errors.Is(last.Err, controlloop.ErrExpired); gotExpired != tc.expired {
					t.Fatalf("last event %+v: ended with ErrExpired %v, want %v", last, gotExpired, tc.expired)
				}
			})
		})
	}
}
