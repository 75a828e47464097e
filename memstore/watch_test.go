package memstore_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/memstore"
	"github.com/google/go-cmp/cmp"
)

func TestWatchReplaysThenStreams(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := must(memstore.New[*Pod](memstore.Options{}))
	a := mustCreate(t, s, pod("", "a", nil)) // 1
	mustCreate(t, s, pod("", "b", nil))      // 2
	a.Spec = "x"
	if _, err := s.Update(ctx, a); err != nil { // 3
		t.Fatal(err)
	}
	ch, err := s.Watch(ctx, controlloop.WatchOptions{ResourceVersion: "1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, controlloop.Key{Name: "b"}, controlloop.DeleteOptions{}); err != nil { // 4
		t.Fatal(err)
	}
	got := summary(collect(t, ch, 3))
	want := []evSummary{
		{"Added", "b", "2"},
		{"Modified", "a", "3"},
		{"Deleted", "b", "4"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}

	// From now: only later changes.
	now, err := s.Watch(ctx, controlloop.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, pod("", "c", nil)) // 5
	if diff := cmp.Diff([]evSummary{{"Added", "c", "5"}}, summary(collect(t, now, 1))); diff != "" {
		t.Errorf("watch from now (-want +got):\n%s", diff)
	}
}

func TestWatchSelectorTransitions(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := must(memstore.New[*Pod](memstore.Options{}))
	ch, err := s.Watch(ctx, controlloop.WatchOptions{Selector: controlloop.Selector{Namespace: "ns", Labels: map[string]string{"app": "web"}}})
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, pod("other", "a", map[string]string{"app": "web"}))  // 1: other namespace
	p := mustCreate(t, s, pod("ns", "a", map[string]string{"app": "db"})) // 2: not matching
	p.Labels["app"] = "web"
	p, _ = s.Update(ctx, p) // 3: enters -> Added
	p.Spec = "v2"
	p, _ = s.Update(ctx, p) // 4: stays -> Modified
	p.Labels["app"] = "db"
	p, _ = s.Update(ctx, p) // 5: leaves -> Deleted, with the state before
	p.Labels["app"] = "web"
	p, _ = s.Update(ctx, p)                                                                  // 6: enters again -> Added
	if err := s.Delete(ctx, controlloop.KeyOf(p), controlloop.DeleteOptions{}); err != nil { // 7
		t.Fatal(err)
	}
	evs := collect(t, ch, 4)
	want := []evSummary{
		{"Added", "ns/a", "3"},
		{"Modified", "ns/a", "4"},
		{"Deleted", "ns/a", "5"},
		{"Added", "ns/a", "6"},
	}
	if diff := cmp.Diff(want, summary(evs)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if got := evs[2].Object.Labels["app"]; got != "web" {
		t.Errorf("Deleted on leaving the selector carries labels %q, want the state before (web)", got)
	}
	if diff := cmp.Diff([]evSummary{{"Deleted", "ns/a", "7"}}, summary(collect(t, ch, 1))); diff != "" {
		t.Errorf("delete (-want +got):\n%s", diff)
	}
}

func TestWatchExpired(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := must(memstore.New[*Pod](memstore.Options{HistorySize: 3}))
	for i := range 5 {
		mustCreate(t, s, pod("", fmt.Sprint(i), nil))
	}
	// Versions 3, 4, 5 are held: a watch may start after 2.
	if _, err := s.Watch(ctx, controlloop.WatchOptions{ResourceVersion: "1"}); !errors.Is(err, controlloop.ErrExpired) {
		t.Errorf("watch from 1: %v, want ErrExpired", err)
	}
	ch, err := s.Watch(ctx, controlloop.WatchOptions{ResourceVersion: "2"})
	if err != nil {
		t.Fatalf("watch from 2: %v", err)
	}
	if got := summary(collect(t, ch, 3)); got[0].RV != "3" || got[2].RV != "5" {
		t.Errorf("replay from 2: %v", got)
	}
	if err := s.Compact("4"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Watch(ctx, controlloop.WatchOptions{ResourceVersion: "3"}); !errors.Is(err, controlloop.ErrExpired) {
		t.Errorf("watch from 3 after Compact(4): %v, want ErrExpired", err)
	}
	if _, err := s.Watch(ctx, controlloop.WatchOptions{ResourceVersion: "4"}); err != nil {
		t.Errorf("watch from 4 after Compact(4): %v", err)
	}
	s.ExpireHistory()
	if _, err := s.Watch(ctx, controlloop.WatchOptions{ResourceVersion: "4"}); !errors.Is(err, controlloop.ErrExpired) {
		t.Errorf("watch from 4 after ExpireHistory: %v, want ErrExpired", err)
	}
	if _, err := s.Watch(ctx, controlloop.WatchOptions{ResourceVersion: "5"}); err != nil {
		t.Errorf("watch from the current version after ExpireHistory: %v", err)
	}
	for _, rv := range []string{"x", "-1"} {
		if _, err := s.Watch(ctx, controlloop.WatchOptions{ResourceVersion: rv}); !errors.Is(err, controlloop.ErrInvalid) {
			t.Errorf("watch from %q: %v, want ErrInvalid", rv, err)
		}
		if err := s.Compact(rv); !errors.Is(err, controlloop.ErrInvalid) {
			t.Errorf("Compact(%q): %v, want ErrInvalid", rv, err)
		}
	}
	if err := s.Compact("99"); !errors.Is(err, controlloop.ErrInvalid) {
		t.Errorf("Compact(future): %v, want ErrInvalid", err)
	}
}

func TestWatchFromFutureVersion(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := must(memstore.New[*Pod](memstore.Options{}))
	ch, err := s.Watch(ctx, controlloop.WatchOptions{ResourceVersion: "2"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		mustCreate(t, s, pod("", fmt.Sprint(i), nil))
	}
	if diff := cmp.Diff([]evSummary{{"Added", "2", "3"}}, summary(collect(t, ch, 1))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestWatchFaults(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := must(memstore.New[*Pod](memstore.Options{}))
	injected := errors.New("injected")
	s.FailNextWatch(injected)
	if _, err := s.Watch(ctx, controlloop.WatchOptions{}); !errors.Is(err, injected) {
		t.Fatalf("Watch after FailNextWatch: %v", err)
	}
	w1, err := s.Watch(ctx, controlloop.WatchOptions{})
	if err != nil {
		t.Fatalf("second Watch: %v", err)
	}
	s.BreakWatches()
	if evs := drainClosed(t, w1); len(evs) != 0 {
		t.Errorf("BreakWatches sent %v, want a plain close", summary(evs))
	}

	w2, _ := s.Watch(ctx, controlloop.WatchOptions{})
	s.FailWatches(injected)
	evs := drainClosed(t, w2)
	if len(evs) != 1 || evs[0].Type != controlloop.Error || !errors.Is(evs[0].Err, injected) {
		t.Errorf("FailWatches: got %+v, want one Error event", evs)
	}

	w3, _ := s.Watch(ctx, controlloop.WatchOptions{})
	s.FailWatches(nil)
	evs = drainClosed(t, w3)
	if len(evs) != 1 || !errors.Is(evs[0].Err, controlloop.ErrExpired) {
		t.Errorf("FailWatches(nil): got %+v, want one ErrExpired event", evs)
	}
}

// TestCompactEndsLaggingWatch checks that a watch that had yet to deliver a
// compacted change is told to relist, while one that had not is untouched.
func TestCompactEndsLaggingWatch(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := must(memstore.New[*Pod](memstore.Options{}))
	lagging, _ := s.Watch(ctx, controlloop.WatchOptions{ResourceVersion: "0"})
	caughtUp, _ := s.Watch(ctx, controlloop.WatchOptions{})
	// Fill the lagging watcher's channel so that it stays behind.
	for i := range 100 {
		mustCreate(t, s, pod("", fmt.Sprint(i), nil))
	}
	got := collect(t, caughtUp, 100)
	if got[99].ResourceVersion != "100" {
		t.Fatalf("last event at %s, want 100", got[99].ResourceVersion)
	}
	if err := s.Compact("100"); err != nil {
		t.Fatal(err)
	}
	evs := drainClosed(t, lagging)
	last := evs[len(evs)-1]
	if last.Type != controlloop.Error || !errors.Is(last.Err, controlloop.ErrExpired) {
		t.Errorf("lagging watch ended with %+v, want an ErrExpired Error event", last)
	}
	for i, ev := range evs[:len(evs)-1] {
		if ev.ResourceVersion != fmt.Sprint(i+1) {
			t.Fatalf("lagging watch event %d at version %s: a gap", i, ev.ResourceVersion)
		}
	}
	mustCreate(t, s, pod("", "after", nil))
	if ev, ok := next(t, caughtUp); !ok || ev.ResourceVersion != "101" {
		t.Errorf("caught-up watch after Compact: %+v, %v", ev, ok)
	}
}

// TestSlowWatcherExpires checks that writers never block on a consumer
// that stops reading, and that once it lags by more than MaxWatchLag its
// watch ends with a gapless prefix and an Error event wrapping ErrExpired.
func TestSlowWatcherExpires(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := must(memstore.New[*Pod](memstore.Options{HistorySize: 10, MaxWatchLag: 50}))
	slow, _ := s.Watch(ctx, controlloop.WatchOptions{})
	// Far more writes than the channel and the history hold: none may block.
	for i := range 500 {
		mustCreate(t, s, pod("", fmt.Sprint(i), nil))
	}
	evs := drainClosed(t, slow)
	last := evs[len(evs)-1]
	if last.Type != controlloop.Error || !errors.Is(last.Err, controlloop.ErrExpired) {
		t.Fatalf("slow watcher ended with %+v, want an ErrExpired Error event", last)
	}
	for i, ev := range evs[:len(evs)-1] {
		if ev.Type != controlloop.Added || ev.ResourceVersion != fmt.Sprint(i+1) {
			t.Fatalf("event %d: %+v; the slow watcher must get a gapless prefix", i, summary([]controlloop.Event[*Pod]{ev}))
		}
	}
}

// TestLaggingWatcherCatchesUp checks that a watcher whose consumer falls
// further behind than HistorySize, but within MaxWatchLag, keeps its watch
// and gets every change, and that once it has caught up the store keeps
// only HistorySize changes again: a new watch from before them expires.
func TestLaggingWatcherCatchesUp(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := must(memstore.New[*Pod](memstore.Options{HistorySize: 10, MaxWatchLag: 1000}))
	lagging, err := s.Watch(ctx, controlloop.WatchOptions{ResourceVersion: "0"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 500 { // nobody reads meanwhile
		mustCreate(t, s, pod("", fmt.Sprint(i), nil))
	}
	for i := range 500 {
		ev := <-lagging
		if ev.Type != controlloop.Added || ev.ResourceVersion != fmt.Sprint(i+1) {
			t.Fatalf("event %d: %+v, want Added at version %d: the lagging watch must get every change", i, summary([]controlloop.Event[*Pod]{ev}), i+1)
		}
	}
	mustCreate(t, s, pod("", "after", nil)) // the history drops what no watcher needs
	if ev := <-lagging; ev.Type != controlloop.Added || ev.ResourceVersion != "501" {
		t.Fatalf("after catching up: %+v, want Added at version 501", summary([]controlloop.Event[*Pod]{ev}))
	}
	if _, err := s.Watch(ctx, controlloop.WatchOptions{ResourceVersion: "400"}); !errors.Is(err, controlloop.ErrExpired) {
		t.Errorf("Watch from version 400, 101 changes back with HistorySize 10: %v, want ErrExpired", err)
	}
	if _, err := s.Watch(ctx, controlloop.WatchOptions{ResourceVersion: "495"}); err != nil {
		t.Errorf("Watch from version 495, within HistorySize: %v", err)
	}
}

func TestWatchContextCancelCloses(t *testing.T) {
	s := must(memstore.New[*Pod](memstore.Options{}))
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := s.Watch(ctx, controlloop.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	drainClosed(t, ch)
	mustCreate(t, s, pod("", "a", nil)) // no watcher left to nudge
}

func TestWatchEventsAreCopies(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := must(memstore.New[*Pod](memstore.Options{}))
	w1, _ := s.Watch(ctx, controlloop.WatchOptions{})
	w2, _ := s.Watch(ctx, controlloop.WatchOptions{})
	mustCreate(t, s, pod("", "a", map[string]string{"k": "v"}))
	e1, _ := next(t, w1)
	e1.Object.Labels["k"] = "changed"
	e2, _ := next(t, w2)
	if e2.Object.Labels["k"] != "v" {
		t.Errorf("one watcher's mutation reached another: %v", e2.Object.Labels)
	}
	got, _ := s.Get(ctx, controlloop.Key{Name: "a"})
	if got.Labels["k"] != "v" {
		t.Errorf("a watcher's mutation reached the store: %v", got.Labels)
	}
}

func TestWatchSelectorNamespaceInvalid(t *testing.T) {
	s := must(memstore.New[*Pod](memstore.Options{}))
	_, err := s.Watch(context.Background(), controlloop.WatchOptions{Selector: controlloop.Selector{Namespace: "a/b"}})
	if !errors.Is(err, controlloop.ErrInvalid) {
		t.Errorf("got %v, want ErrInvalid", err)
	}
}

// TestCompactThroughReceivedVersionKeepsWatch checks that a consumer
// compacting through the version it has just received keeps its watch: the
// change was delivered. (The watcher used to record a change as delivered
// only after the send, so a Compact right after the receive could find it
// behind and end it with ErrExpired; TestCompactEndsLaggingWatch failed
// now and then on this.)
func TestCompactThroughReceivedVersionKeepsWatch(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := must(memstore.New[*Pod](memstore.Options{}))
	w, err := s.Watch(ctx, controlloop.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2000 {
		p := mustCreate(t, s, pod("", fmt.Sprint(i), nil))
		ev, ok := next(t, w)
		if !ok || ev.Type != controlloop.Added || ev.ResourceVersion != p.ResourceVersion {
			t.Fatalf("change %d: got %+v, %v; want Added at %s", i, ev, ok, p.ResourceVersion)
		}
		if err := s.Compact(ev.ResourceVersion); err != nil {
			t.Fatal(err)
		}
	}
}

// TestWatchFromLargestVersionWaits checks that a watch from the largest
// version waits, as one from any future version does, instead of closing
// at once with no error as it did when from+1 wrapped to 0 (issue 12, item
// 7), and that it closes when its context ends.
func TestWatchFromLargestVersionWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		s := must(memstore.New[*Pod](memstore.Options{BookmarkInterval: time.Second}))
		for _, rv := range []string{"18446744073709551615", "18446744073709551614"} {
			ch, err := s.Watch(ctx, controlloop.WatchOptions{ResourceVersion: rv, AllowBookmarks: true})
			if err != nil {
				t.Fatalf("Watch(%s): %v", rv, err)
			}
			mustCreate(t, s, pod("", rv, nil))
			time.Sleep(time.Minute)
			synctest.Wait()
			select {
			case ev, ok := <-ch:
				t.Fatalf("Watch(%s) delivered %+v (open %v), want it to wait", rv, ev, ok)
			default:
			}
			defer func() {
				if _, ok := <-ch; ok {
					t.Errorf("Watch(%s) delivered an event after its context ended", rv)
				}
			}()
		}
		cancel()
	})
}

// TestMalformedVersionsRefused checks that Watch, Compact and continue
// tokens refuse every version string the store would not write, including
// numbers past the largest and other spellings of valid ones.
func TestMalformedVersionsRefused(t *testing.T) {
	ctx := t.Context()
	s := must(memstore.New[*Pod](memstore.Options{}))
	mustCreate(t, s, pod("", "a", nil))
	mustCreate(t, s, pod("", "b", nil))
	for _, rv := range []string{"x", "-1", "+1", " 1", "1 ", "01", "0x1", "1e3", "1_0", "18446744073709551616", "99999999999999999999999"} {
		if _, err := s.Watch(ctx, controlloop.WatchOptions{ResourceVersion: rv}); !errors.Is(err, controlloop.ErrInvalid) {
			t.Errorf("Watch(%q): %v, want ErrInvalid", rv, err)
		}
		if err := s.Compact(rv); !errors.Is(err, controlloop.ErrInvalid) {
			t.Errorf("Compact(%q): %v, want ErrInvalid", rv, err)
		}
		tok := base64.RawURLEncoding.EncodeToString([]byte(rv + "///a"))
		if _, err := s.List(ctx, controlloop.ListOptions{Continue: tok}); !errors.Is(err, controlloop.ErrInvalid) {
			t.Errorf("List(continue at version %q): %v, want ErrInvalid", rv, err)
		}
	}
}

// TestSetUnavailable: an outage closes the open watches, fails every List
// and Watch with its error until it ends, lets writes through, and once it
// ends a watch from before it replays what was written meanwhile.
func TestSetUnavailable(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := must(memstore.New[*Pod](memstore.Options{}))
	mustCreate(t, s, pod("", "a", nil))
	before := s.ResourceVersion()
	open, err := s.Watch(ctx, controlloop.WatchOptions{ResourceVersion: before})
	if err != nil {
		t.Fatal(err)
	}
	down := errors.New("down")
	s.SetUnavailable(down)
	if evs := drainClosed(t, open); len(evs) != 0 {
		t.Errorf("the outage sent %v to an open watch, want a plain close", summary(evs))
	}
	for i := range 2 { // not only the next call: every call
		if _, err := s.List(ctx, controlloop.ListOptions{}); !errors.Is(err, down) {
			t.Errorf("List %d during the outage: %v, want %v", i, err, down)
		}
		if _, err := s.Watch(ctx, controlloop.WatchOptions{}); !errors.Is(err, down) {
			t.Errorf("Watch %d during the outage: %v, want %v", i, err, down)
		}
	}
	mustCreate(t, s, pod("", "b", nil)) // writes go on

	s.SetUnavailable(nil)
	list, err := s.List(ctx, controlloop.ListOptions{})
	if err != nil || len(list.Items) != 2 {
		t.Fatalf("List after the outage: %d items, %v; want 2, nil", len(list.Items), err)
	}
	w, err := s.Watch(ctx, controlloop.WatchOptions{ResourceVersion: before})
	if err != nil {
		t.Fatal(err)
	}
	if ev := <-w; ev.Type != controlloop.Added || ev.Object.Name != "b" {
		t.Errorf("a watch from before the outage got %v first, want b's addition", summary([]controlloop.Event[*Pod]{ev}))
	}
}
