package reflector_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/reflector"
	"github.com/google/go-cmp/cmp"
)

// setup returns a store holding n pods, a spy over it, a sink and a reflector
// (not started) with opts, logging nowhere.
func setup(t *testing.T, n int, opts reflector.Options) (*memstore.Store[*Pod], *spy, *sink, *reflector.Reflector[*Pod]) {
	t.Helper()
	store := must(memstore.New[*Pod](memstore.Options{}))
	for i := range n {
		mustCreate(t, store, pod("ns", fmt.Sprintf("p%d", i)))
	}
	lw := newSpy(store)
	sk := newSink()
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	r, err := reflector.New[*Pod](lw, sk, opts)
	if err != nil {
		t.Fatal(err)
	}
	return store, lw, sk, r
}

// checkInSync fails unless the sink holds exactly what the store holds and
// saw no out-of-order call.
func checkInSync(t *testing.T, store *memstore.Store[*Pod], sk *sink, r *reflector.Reflector[*Pod]) {
	t.Helper()
	got, _, violations := sk.snapshot()
	if diff := cmp.Diff(storeContents(store, controlloop.Selector{}), got); diff != "" {
		t.Errorf("sink differs from store (-store +sink):\n%s", diff)
	}
	if len(violations) > 0 {
		t.Errorf("sink saw out-of-order calls: %v", violations)
	}
	if got, want := r.LastSyncResourceVersion(), store.ResourceVersion(); got != want {
		t.Errorf("LastSyncResourceVersion() = %s, want %s", got, want)
	}
}

func TestListPagesThenWatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		store, lw, sk, r := setup(t, 5, reflector.Options{PageSize: 2})
		if got := r.LastSyncResourceVersion(); got != "" {
			t.Errorf("before Run: LastSyncResourceVersion() = %q", got)
		}
		start(t, r)
		synctest.Wait()
		lists, watches := lw.calls()
		if len(lists) != 3 || lists[0].Limit != 2 || lists[2].Continue == "" {
			t.Errorf("lists %+v, want three pages of 2", lists)
		}
		if len(watches) != 1 || watches[0].opts.ResourceVersion != "5" || !watches[0].opts.AllowBookmarks {
			t.Errorf("watches %+v, want one from version 5 with bookmarks", watches)
		}
		p := mustCreate(t, store, pod("ns", "new"))
		p.Spec = "x"
		if _, err := store.Update(ctx, p); err != nil {
			t.Fatal(err)
		}
		if err := store.Delete(ctx, controlloop.Key{Namespace: "ns", Name: "p0"}, controlloop.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		checkInSync(t, store, sk, r)
		_, ops, _ := sk.snapshot()
		want := []string{"replace 5 @5", "add ns/new", "update ns/new", "delete ns/p0"}
		if diff := cmp.Diff(want, ops); diff != "" {
			t.Errorf("sink calls (-want +got):\n%s", diff)
		}
	})
}

func TestSelector(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store, lw, sk, r := setup(t, 2, reflector.Options{Selector: controlloop.Selector{Namespace: "ns"}})
		mustCreate(t, store, pod("other", "x"))
		start(t, r)
		mustCreate(t, store, pod("other", "y"))
		mustCreate(t, store, pod("ns", "z"))
		synctest.Wait()
		_, ops, _ := sk.snapshot()
		if diff := cmp.Diff([]string{"replace 2 @3", "add ns/z"}, ops); diff != "" {
			t.Errorf("sink calls (-want +got):\n%s", diff)
		}
		lists, watches := lw.calls()
		if lists[0].Namespace != "ns" || watches[0].opts.Namespace != "ns" {
			t.Errorf("selector not passed on: %+v, %+v", lists[0], watches[0].opts)
		}
	})
}

// TestWatchClosedRewatches checks that a closed watch is resumed from the
// last version, with no relist.
func TestWatchClosedRewatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store, lw, sk, r := setup(t, 1, reflector.Options{})
		start(t, r)
		mustCreate(t, store, pod("ns", "a")) // 2
		synctest.Wait()
		store.BreakWatches()
		mustCreate(t, store, pod("ns", "b")) // 3, made while no watch is open
		synctest.Wait()
		lists, watches := lw.calls()
		if len(lists) != 1 || len(watches) != 2 || watches[1].opts.ResourceVersion != "2" {
			t.Errorf("%d lists, watches %+v; want 1 list and a second watch from 2", len(lists), watches)
		}
		checkInSync(t, store, sk, r)
	})
}

func TestErrorEvents(t *testing.T) {
	boom := errors.New("boom")
	for _, c := range []struct {
		name      string
		err       error
		wantLists int
	}{
		{"other error: watch again", boom, 1},
		{"expired: list again", fmt.Errorf("gone: %w", controlloop.ErrExpired), 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var seen errs
				store, lw, sk, r := setup(t, 1, reflector.Options{WatchErrorHandler: seen.handle})
				start(t, r)
				synctest.Wait()
				store.FailWatches(c.err)
				mustCreate(t, store, pod("ns", "a"))
				synctest.Wait() // backing off
				if got := seen.all(); len(got) != 1 || !errors.Is(got[0], c.err) {
					t.Errorf("handler saw %v, want %v", got, c.err)
				}
				// time.Sleep moves the bubble's fake clock past the backoff.
				time.Sleep(2 * time.Second)
				synctest.Wait()
				lists, watches := lw.calls()
				if len(lists) != c.wantLists || len(watches) != 2 {
					t.Errorf("%d lists and %d watches, want %d and 2", len(lists), len(watches), c.wantLists)
				}
				checkInSync(t, store, sk, r)
			})
		})
	}
}

func TestWatchCallFails(t *testing.T) {
	for _, c := range []struct {
		name      string
		err       error
		wantLists int
	}{
		// Issue 12, item 5: the Watch call may be refusing the version.
		{"other error: list again", errors.New("refused"), 2},
		{"expired: list again", controlloop.ErrExpired, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var seen errs
				store, lw, sk, r := setup(t, 1, reflector.Options{WatchErrorHandler: seen.handle})
				store.FailNextWatch(c.err)
				start(t, r)
				synctest.Wait()
				if got := seen.all(); len(got) != 1 || !errors.Is(got[0], c.err) {
					t.Errorf("handler saw %v, want %v", got, c.err)
				}
				time.Sleep(2 * time.Second)
				mustCreate(t, store, pod("ns", "a"))
				synctest.Wait()
				lists, watches := lw.calls()
				if len(lists) != c.wantLists || len(watches) != 2 {
					t.Errorf("%d lists and %d watches, want %d and 2", len(lists), len(watches), c.wantLists)
				}
				checkInSync(t, store, sk, r)
			})
		})
	}
}

func TestListFailsBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var seen errs
		store, lw, sk, r := setup(t, 3, reflector.Options{WatchErrorHandler: seen.handle, PageSize: 1})
		lw.afterList = func(opts controlloop.ListOptions) {
			if opts.Continue == "" {
				store.FailNextList(errors.New("second page lost")) // once only: consumed next
				lw.afterList = nil
			}
		}
		start(t, r)
		synctest.Wait()
		if got := seen.all(); len(got) != 1 {
			t.Fatalf("handler saw %v, want the list error", got)
		}
		if _, watches := lw.calls(); len(watches) != 0 {
			t.Errorf("watched before a complete list")
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		checkInSync(t, store, sk, r)
	})
}

// TestExpiredContinueListsInOneCall checks that when writes push the first
// page's version out of the history, the reflector lists again unpaged
// instead of failing.
func TestExpiredContinueListsInOneCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := must(memstore.New[*Pod](memstore.Options{HistorySize: 2}))
		for i := range 4 {
			mustCreate(t, store, pod("ns", fmt.Sprint(i)))
		}
		lw := newSpy(store)
		lw.afterList = func(opts controlloop.ListOptions) {
			if opts.Continue == "" && opts.Limit > 0 {
				for i := range 3 {
					mustCreate(t, store, pod("ns", fmt.Sprintf("late%d", i)))
				}
			}
		}
		sk := newSink()
		r, err := reflector.New[*Pod](lw, sk, reflector.Options{PageSize: 2, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		start(t, r)
		synctest.Wait()
		lists, _ := lw.calls()
		if len(lists) != 3 || lists[2].Limit != 0 || lists[2].Continue != "" {
			t.Errorf("lists %+v; want a page, an expired continue, then one unpaged list", lists)
		}
		checkInSync(t, store, sk, r)
	})
}

func TestStoreErrorRelists(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var seen errs
		store, lw, sk, r := setup(t, 1, reflector.Options{WatchErrorHandler: seen.handle})
		start(t, r)
		synctest.Wait()
		sk.failNext("Add", errors.New("full"))
		mustCreate(t, store, pod("ns", "a"))
		synctest.Wait()
		if got := seen.all(); len(got) != 1 || !errors.Is(got[0], reflector.ErrStore) {
			t.Errorf("handler saw %v, want ErrStore", got)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if lists, _ := lw.calls(); len(lists) != 2 {
			t.Errorf("%d lists, want 2", len(lists))
		}
		checkInSync(t, store, sk, r)

		sk.failNext("Replace", errors.New("full"))
		store.FailWatches(nil) // expired: relist, whose Replace fails once
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if lists, _ := lw.calls(); len(lists) != 4 {
			t.Errorf("%d lists, want 4", len(lists))
		}
		checkInSync(t, store, sk, r)
	})
}

func TestBadEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var seen errs
		store, lw, sk, r := setup(t, 1, reflector.Options{WatchErrorHandler: seen.handle})
		bad := []controlloop.Event[*Pod]{
			{Type: controlloop.Added, ResourceVersion: "7"},
			{Type: controlloop.EventType(42), ResourceVersion: "7"},
		}
		lw.setWatch(func(ctx context.Context, opts controlloop.WatchOptions) (<-chan controlloop.Event[*Pod], error) {
			ch := make(chan controlloop.Event[*Pod], 1)
			lw.mu.Lock()
			if len(bad) > 0 {
				ch <- bad[0]
				bad = bad[1:]
			}
			lw.mu.Unlock()
			close(ch)
			return ch, nil
		})
		start(t, r)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		got := seen.all()
		if len(got) < 2 || !errors.Is(got[0], reflector.ErrBadEvent) || !errors.Is(got[1], reflector.ErrBadEvent) {
			t.Errorf("handler saw %v, want ErrBadEvent twice", got)
		}
		if r.LastSyncResourceVersion() != "1" {
			t.Errorf("a bad event moved the version to %s", r.LastSyncResourceVersion())
		}
		lw.setWatch(nil)
		time.Sleep(time.Minute)
		synctest.Wait()
		checkInSync(t, store, sk, r)
	})
}

func TestBookmarksAdvanceVersion(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := must(memstore.New[*Pod](memstore.Options{BookmarkInterval: time.Minute}))
		sk := newSink()
		r, err := reflector.New[*Pod](store, sk, reflector.Options{Selector: controlloop.Selector{Namespace: "mine"}, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		start(t, r)
		synctest.Wait()
		mustCreate(t, store, pod("other", "a"))
		mustCreate(t, store, pod("other", "b"))
		synctest.Wait()
		if got := r.LastSyncResourceVersion(); got != "0" {
			t.Errorf("before a bookmark: version %s, want 0", got)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := r.LastSyncResourceVersion(); got != "2" {
			t.Errorf("after a bookmark: version %s, want 2", got)
		}
		if _, ops, _ := sk.snapshot(); len(ops) != 1 {
			t.Errorf("sink calls %v, want only the replace", ops)
		}
	})
}

// TestNewRejects checks that New refuses a nil source or store and every
// invalid option with an error wrapping ErrInvalid that names the field and
// the rule.
func TestNewRejects(t *testing.T) {
	store := must(memstore.New[*Pod](memstore.Options{}))
	sk := newSink()
	var nilStore *memstore.Store[*Pod]
	var nilSink *sink
	for _, c := range []struct {
		name string
		lw   controlloop.ListerWatcher[*Pod]
		sink reflector.Store[*Pod]
		opts reflector.Options
		want string
	}{
		{"nil source", nil, sk, reflector.Options{}, "reflector: New: nil ListerWatcher"},
		{"nil pointer source", nilStore, sk, reflector.Options{}, "reflector: New: nil ListerWatcher"},
		{"nil sink", store, nil, reflector.Options{}, "reflector: New: nil Store"},
		{"nil pointer sink", store, nilSink, reflector.Options{}, "reflector: New: nil Store"},
		{"negative resync", store, sk, reflector.Options{ResyncPeriod: -1}, "reflector: Options.ResyncPeriod is -1ns: must not be negative"},
		{"negative initial backoff", store, sk, reflector.Options{InitialBackoff: -time.Second}, "reflector: Options.InitialBackoff is -1s: must not be negative"},
		{"negative max backoff", store, sk, reflector.Options{MaxBackoff: -time.Second}, "reflector: Options.MaxBackoff is -1s: must not be negative"},
		{"negative backoff reset", store, sk, reflector.Options{BackoffReset: -time.Second}, "reflector: Options.BackoffReset is -1s: must not be negative"},
		{"initial above max", store, sk, reflector.Options{InitialBackoff: time.Minute, MaxBackoff: time.Second}, "reflector: Options.InitialBackoff is 1m0s: must not exceed MaxBackoff (1s)"},
	} {
		r, err := reflector.New(c.lw, c.sink, c.opts)
		if !errors.Is(err, controlloop.ErrInvalid) || r != nil {
			t.Errorf("%s: New = %v, %v; want nil and an error wrapping ErrInvalid", c.name, r, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: error %q, want it to start %q", c.name, err, c.want)
		}
	}
}

// TestRunOnce checks the lifecycle rule: a second Run, while the first runs
// and after it returned, returns at once an error wrapping
// ErrAlreadyStarted and leaves the first alone; the first returns nil when
// its context ends.
func TestRunOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store, lw, sk, r := setup(t, 1, reflector.Options{})
		stop := start(t, r)
		synctest.Wait()
		if err := r.Run(context.Background()); !errors.Is(err, controlloop.ErrAlreadyStarted) {
			t.Errorf("Run while running = %v, want ErrAlreadyStarted", err)
		}
		mustCreate(t, store, pod("ns", "a"))
		synctest.Wait()
		checkInSync(t, store, sk, r) // the first Run goes on
		stop()
		if err := r.Run(context.Background()); !errors.Is(err, controlloop.ErrAlreadyStarted) {
			t.Errorf("Run after Run returned = %v, want ErrAlreadyStarted", err)
		}
		if lists, _ := lw.calls(); len(lists) != 1 {
			t.Errorf("%d lists, want 1: a refused Run must not list", len(lists))
		}
		var zero reflector.Reflector[*Pod]
		if err := zero.Run(context.Background()); !errors.Is(err, controlloop.ErrInvalid) {
			t.Errorf("Run of a zero Reflector = %v, want ErrInvalid", err)
		}
	})
}

func TestWatchWithoutChannel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var seen errs
		store, lw, sk, r := setup(t, 1, reflector.Options{WatchErrorHandler: seen.handle})
		lw.setWatch(func(context.Context, controlloop.WatchOptions) (<-chan controlloop.Event[*Pod], error) {
			return nil, nil
		})
		stop := start(t, r)
		if got := seen.all(); len(got) != 1 || !errors.Is(got[0], reflector.ErrBadEvent) {
			t.Errorf("handler saw %v, want ErrBadEvent", got)
		}
		lw.setWatch(nil)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if lists, _ := lw.calls(); len(lists) != 2 {
			t.Errorf("%d lists, want 2: a Watch call that failed leads to a list", len(lists))
		}
		checkInSync(t, store, sk, r)
		stop() // returns: nothing to drain
	})
}

// TestEventWithoutVersion checks that an event whose ResourceVersion is
// empty brings the reflector to its object's version.
func TestEventWithoutVersion(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, lw, _, r := setup(t, 1, reflector.Options{})
		lw.setWatch(func(ctx context.Context, _ controlloop.WatchOptions) (<-chan controlloop.Event[*Pod], error) {
			ch := make(chan controlloop.Event[*Pod], 1)
			p := pod("ns", "x")
			p.ResourceVersion = "9"
			ch <- controlloop.Event[*Pod]{Type: controlloop.Added, Object: p}
			go func() { <-ctx.Done(); close(ch) }()
			return ch, nil
		})
		start(t, r)
		if got := r.LastSyncResourceVersion(); got != "9" {
			t.Errorf("LastSyncResourceVersion() = %q, want the object's 9", got)
		}
	})
}
