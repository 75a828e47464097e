package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

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

// TestSlowWatcherClosed checks that a consumer that stops reading is closed
// once it is WatchBuffer changes behind, and that writers never block on it.
func TestSlowWatcherClosed(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := must(memstore.New[*Pod](memstore.Options{WatchBuffer: 10}))
	slow, _ := s.Watch(ctx, controlloop.WatchOptions{})
	// Far more writes than the channel and the buffer hold: none may block.
	for i := range 500 {
		mustCreate(t, s, pod("", fmt.Sprint(i), nil))
	}
	evs := drainClosed(t, slow)
	if len(evs) >= 500 {
		t.Fatalf("slow watcher got all %d events, want it closed early", len(evs))
	}
	for i, ev := range evs {
		if ev.Type != controlloop.Added || ev.ResourceVersion != fmt.Sprint(i+1) {
			t.Fatalf("event %d: %+v; the slow watcher must get a gapless prefix and no Error", i, summary([]controlloop.Event[*Pod]{ev}))
		}
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
