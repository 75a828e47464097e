package informer_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/reflector"
	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

// TestEventualConsistency is the informer's defining property (issue #5):
// after any mix of creates, updates and deletes interleaved with broken
// watches, expired history, compaction and failing lists and watches, once
// the faults stop and the informer catches up,
//  1. the cache equals the store;
//  2. replaying each handler's notifications yields the store's contents;
//  3. every object a handler saw and the store no longer holds reached that
//     handler as a delete (direct, or final-state-unknown);
//  4. the informer's Health reports it synced and healthy;
//
// and no handler ever sees an object's version go backwards.
func TestEventualConsistency(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		rapid.SyncTest(rt, checkEventualConsistency)
	})
}

func checkEventualConsistency(t *rapid.T) {
	// A small MaxWatchLag: a watch that falls behind is cut off, one more
	// fault the informer must recover from.
	s, err := memstore.New[*Pod](memstore.Options{HistorySize: 8, MaxWatchLag: 16})
	if err != nil {
		t.Fatal(err)
	}
	inf, err := informer.New[*Pod](s, informer.Options[*Pod]{
		Logger: quiet,
		Reflector: reflector.Options{
			Logger: quiet, PageSize: 3,
			InitialBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	early := &recorder{}
	if _, err := inf.AddHandler(early, informer.HandlerOptions{}); err != nil {
		t.Fatal(err)
	}
	handlers := []*recorder{early}

	// Some objects exist before the informer starts.
	ctx := context.Background()
	names := rapid.SampledFrom([]string{"a", "b", "c", "d", "e"})
	namespaces := rapid.SampledFrom([]string{"ns1", "ns2"})
	for range rapid.IntRange(0, 4).Draw(t, "initial") {
		_, _ = s.Create(ctx, pod(namespaces.Draw(t, "ns"), names.Draw(t, "name")))
	}
	stop := start(inf)
	defer stop()

	boom := errors.New("injected failure")
	t.Repeat(map[string]func(*rapid.T){
		"create": func(t *rapid.T) {
			_, _ = s.Create(ctx, pod(namespaces.Draw(t, "ns"), names.Draw(t, "name")))
		},
		"update": func(t *rapid.T) {
			key := controlloop.Key{Namespace: namespaces.Draw(t, "ns"), Name: names.Draw(t, "name")}
			if p, err := s.Get(ctx, key); err == nil {
				p.Phase = strconv.Itoa(rapid.IntRange(0, 9).Draw(t, "phase"))
				_, _ = s.Update(ctx, p)
			}
		},
		"delete": func(t *rapid.T) {
			key := controlloop.Key{Namespace: namespaces.Draw(t, "ns"), Name: names.Draw(t, "name")}
			_ = s.Delete(ctx, key, controlloop.DeleteOptions{})
		},
		"breakWatches":  func(t *rapid.T) { s.BreakWatches() },
		"expireHistory": func(t *rapid.T) { s.ExpireHistory() },
		"compact":       func(t *rapid.T) { _ = s.Compact(s.ResourceVersion()) },
		"failNextList":  func(t *rapid.T) { s.FailNextList(boom) },
		"failNextWatch": func(t *rapid.T) { s.FailNextWatch(boom) },
		"failWatches":   func(t *rapid.T) { s.FailWatches(boom) },
		"lateHandler": func(t *rapid.T) {
			if len(handlers) > 2 {
				t.Skip("enough handlers")
			}
			late := &recorder{}
			if _, err := inf.AddHandler(late, informer.HandlerOptions{}); err != nil {
				t.Fatal(err)
			}
			handlers = append(handlers, late)
		},
		"sleep": func(t *rapid.T) {
			time.Sleep(time.Duration(rapid.IntRange(1, 300).Draw(t, "ms")) * time.Millisecond)
		},
	})

	// The faults stop; let every backoff run out and the informer catch up.
	time.Sleep(time.Minute)
	want := storeState(s)
	if diff := cmp.Diff(want, cacheState(inf)); diff != "" {
		t.Fatalf("cache differs from store (-store +cache):\n%s", diff)
	}
	for i, h := range handlers {
		if diff := cmp.Diff(want, h.replay()); diff != "" {
			t.Fatalf("handler %d's notifications replay to something else (-store +replay):\n%s", i, diff)
		}
		last := map[string]event{}
		for _, e := range h.all() {
			if prev, ok := last[e.Key]; ok && rvNum(e.RV) < rvNum(prev.RV) {
				t.Fatalf("handler %d: %s went back from version %s to %s", i, e.Key, prev.RV, e.RV)
			}
			last[e.Key] = e
		}
		for key, e := range last {
			if _, exists := want[key]; !exists && e.Kind != "delete" {
				t.Fatalf("handler %d: %s is gone from the store but its last notification was %s", i, key, e.Kind)
			}
		}
	}
	// 4. Health (issue 13, item 3): once the watch has been up for the
	// reflector's BackoffReset (2m), or the source has answered since the
	// last fault, the informer reports itself synced and healthy.
	time.Sleep(2 * time.Minute)
	if h := inf.Health(); !h.Synced || h.Err != nil || !h.FailingSince.IsZero() {
		t.Fatalf("after the faults stopped: Health() = %+v, want synced and healthy", h)
	}
}

func rvNum(rv string) uint64 {
	n, _ := strconv.ParseUint(rv, 10, 64)
	return n
}
