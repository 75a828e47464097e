package reflector_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/reflector"
)

var errDown = errors.New("source down")

// TestHealthThroughOutage is issue 13, item 3 on the reflector: during a
// minute-long outage (failing lists and watches) Health reports the
// source's error, failing since the outage began, and keeps the time of the
// last success from before it; the watch error handler sees every failure;
// once the source is back, Health is healthy with a fresh LastSuccess.
func TestHealthThroughOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := must(memstore.New[*Pod](memstore.Options{}))
		src := store
		var seen errs
		r := must(reflector.New[*Pod](src, newSink(), reflector.Options{Logger: quiet, WatchErrorHandler: seen.handle}))
		if h := r.Health(); h != (reflector.Health{}) {
			t.Errorf("before Run: Health() = %+v, want zero", h)
		}
		begin := time.Now()
		start(t, r)
		if h := r.Health(); h.Err != nil || !h.LastSuccess.Equal(begin) || !h.FailingSince.IsZero() {
			t.Errorf("after the first list: Health() = %+v, want healthy, last success at the list", h)
		}

		time.Sleep(10 * time.Second)
		mustCreate(t, store, pod("ns", "a"))
		synctest.Wait()
		lastEvent := time.Now()
		if h := r.Health(); h.Err != nil || !h.LastSuccess.Equal(lastEvent) {
			t.Errorf("after an event: Health() = %+v, want healthy, last success at the event", h)
		}

		time.Sleep(10 * time.Second)
		outageStart := time.Now()
		src.SetUnavailable(errDown)
		for range 6 {
			time.Sleep(10 * time.Second)
			synctest.Wait()
			h := r.Health()
			if !errors.Is(h.Err, errDown) || !h.LastSuccess.Equal(lastEvent) || !h.FailingSince.Equal(outageStart) {
				t.Fatalf("%v into the outage: Health() = %+v, want errDown, failing since %v, last success %v",
					time.Since(outageStart), h, outageStart, lastEvent)
			}
		}
		var lists, watches int
		for _, err := range seen.all() {
			if !errors.Is(err, errDown) {
				continue
			}
			switch {
			case errors.Is(err, reflector.ErrList):
				lists++
			case errors.Is(err, reflector.ErrWatch):
				watches++
			}
		}
		if lists < 3 || watches != 1 {
			t.Errorf("the handler saw %d failed lists and %d failed watches in a minute, want several and 1 (then it lists): %v", lists, watches, seen.all())
		}

		src.SetUnavailable(nil)
		recovery := time.Now()
		time.Sleep(time.Minute) // past the longest backoff
		synctest.Wait()
		h := r.Health()
		if h.Err != nil || !h.FailingSince.IsZero() || h.LastSuccess.Before(recovery) {
			t.Errorf("a minute after the outage: Health() = %+v, want healthy, last success after %v", h, recovery)
		}
	})
}

// TestHealthQuietSourceIsHealthy checks the definition of stale: a source
// that sends nothing for an hour while its watch is up is healthy, and
// LastSuccess stays at the list.
func TestHealthQuietSourceIsHealthy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, _, _, r := setup(t, 1, reflector.Options{})
		begin := time.Now()
		start(t, r)
		time.Sleep(time.Hour)
		synctest.Wait()
		if h := r.Health(); h.Err != nil || !h.LastSuccess.Equal(begin) {
			t.Errorf("after a quiet hour: Health() = %+v, want healthy, last success at the list (%v)", h, begin)
		}
	})
}

// TestHealthRecoversOnQuietWatch checks that a watch re-established after a
// failure on a quiet source counts as up once it has stayed open for
// Options.BackoffReset, not before, without moving LastSuccess.
func TestHealthRecoversOnQuietWatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store, _, _, r := setup(t, 1, reflector.Options{Jitter: -1, BackoffReset: time.Minute})
		begin := time.Now()
		start(t, r)
		broken := time.Now()
		store.BreakWatches() // no event yet: a short watch, after a list: watched again at once
		synctest.Wait()
		if h := r.Health(); !errors.Is(h.Err, reflector.ErrShortWatch) || !h.FailingSince.Equal(broken) {
			t.Fatalf("after a short watch: Health() = %+v, want ErrShortWatch", h)
		}
		time.Sleep(time.Minute - time.Nanosecond)
		synctest.Wait()
		if h := r.Health(); h.Err == nil {
			t.Errorf("just before the new watch has been open for BackoffReset: Health() = %+v, want still failing", h)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if h := r.Health(); h.Err != nil || !h.FailingSince.IsZero() || !h.LastSuccess.Equal(begin) {
			t.Errorf("once the watch has been open for BackoffReset: Health() = %+v, want healthy, last success still %v", h, begin)
		}
	})
}

// TestHealthRecoversOnBookmark checks that a bookmark is a success: it
// clears the error of the watch before it and moves LastSuccess.
func TestHealthRecoversOnBookmark(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, lw, _, r := setup(t, 1, reflector.Options{Jitter: -1})
		bookmark := make(chan struct{})
		lw.setWatch(func(ctx context.Context, opts controlloop.WatchOptions) (<-chan controlloop.Event[*Pod], error) {
			ch := make(chan controlloop.Event[*Pod])
			_, watches := lw.calls()
			go func() {
				defer close(ch)
				if len(watches) == 1 {
					ch <- controlloop.Event[*Pod]{Type: controlloop.Error, Err: errDown}
					return
				}
				select {
				case <-bookmark:
					ch <- controlloop.Event[*Pod]{Type: controlloop.Bookmark, ResourceVersion: "7"}
				case <-ctx.Done():
					return
				}
				<-ctx.Done()
			}()
			return ch, nil
		})
		start(t, r)
		if h := r.Health(); !errors.Is(h.Err, errDown) || !errors.Is(h.Err, reflector.ErrWatch) {
			t.Fatalf("after an Error event: Health() = %+v, want ErrWatch wrapping errDown", h)
		}
		time.Sleep(10 * time.Second) // the second watch is open
		close(bookmark)
		synctest.Wait()
		if h := r.Health(); h.Err != nil || !h.LastSuccess.Equal(time.Now()) {
			t.Errorf("after a bookmark: Health() = %+v, want healthy, last success now", h)
		}
		if got := r.LastSyncResourceVersion(); got != "7" {
			t.Errorf("LastSyncResourceVersion() = %s, want the bookmark's 7", got)
		}
	})
}

// TestEveryFailureReported checks that every way a list or a watch ends in
// failure reaches the watch error handler and Health, wrapped in the
// sentinel that classifies it (ErrList, ErrWatch or ErrStore) and in the
// source's own error.
func TestEveryFailureReported(t *testing.T) {
	boom := errors.New("boom")
	var seen errs // of the test case running
	tests := []struct {
		name   string
		fault  func(store *memstore.Store[*Pod], lw *spy, sk *sink)
		wantIs []error
	}{
		{"list fails", func(store *memstore.Store[*Pod], lw *spy, sk *sink) {
			store.FailNextList(boom)
			mustCreate(t, store, pod("ns", "x"))
			synctest.Wait()
			store.FailWatches(nil) // expired after an event: list at once
		}, []error{reflector.ErrList, boom}},
		{"Watch call fails", func(store *memstore.Store[*Pod], lw *spy, sk *sink) {
			store.FailNextWatch(boom)
			mustCreate(t, store, pod("ns", "x"))
			synctest.Wait()
			store.BreakWatches() // after an event: watch again at once
		}, []error{reflector.ErrWatch, boom}},
		{"Error event", func(store *memstore.Store[*Pod], lw *spy, sk *sink) {
			store.FailWatches(boom)
		}, []error{reflector.ErrWatch, boom}},
		{"expired", func(store *memstore.Store[*Pod], lw *spy, sk *sink) {
			store.FailWatches(nil)
		}, []error{reflector.ErrWatch, controlloop.ErrExpired}},
		{"lost connection, no event", func(store *memstore.Store[*Pod], lw *spy, sk *sink) {
			store.BreakWatches()
		}, []error{reflector.ErrWatch, reflector.ErrShortWatch}},
		{"store fails", func(store *memstore.Store[*Pod], lw *spy, sk *sink) {
			sk.failNext("Add", boom)
			mustCreate(t, store, pod("ns", "x"))
		}, []error{reflector.ErrStore, boom}},
		{"malformed event", func(store *memstore.Store[*Pod], lw *spy, sk *sink) {
			lw.setWatch(func(ctx context.Context, _ controlloop.WatchOptions) (<-chan controlloop.Event[*Pod], error) {
				lw.setWatch(nil)
				ch := make(chan controlloop.Event[*Pod], 1)
				ch <- controlloop.Event[*Pod]{Type: controlloop.Added}
				close(ch)
				return ch, nil
			})
			mustCreate(t, store, pod("ns", "x"))
			synctest.Wait()
			store.BreakWatches()
		}, []error{reflector.ErrWatch, reflector.ErrBadEvent}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				seen.reset()
				store, lw, sk, r := setup(t, 1, reflector.Options{WatchErrorHandler: seen.handle})
				start(t, r)
				tt.fault(store, lw, sk)
				synctest.Wait()
				got := seen.all()
				if len(got) == 0 {
					t.Fatal("handler saw nothing")
				}
				last := got[len(got)-1]
				for _, want := range tt.wantIs {
					if !errors.Is(last, want) {
						t.Errorf("handler saw %v last, want it to wrap %v", last, want)
					}
				}
				if h := r.Health(); h.Err != last || !h.FailingSince.Equal(time.Now()) {
					t.Errorf("Health() = %+v, want Err = %v failing since now", h, last)
				}
			})
		})
	}
}

// TestHealthListPageIsSuccess checks that each page of a list is a success:
// a list whose second page fails leaves LastSuccess at its first page.
func TestHealthListPageIsSuccess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store, lw, _, r := setup(t, 3, reflector.Options{PageSize: 1})
		start(t, r)
		lw.mu.Lock()
		lw.afterList = func(controlloop.ListOptions) {
			store.FailNextList(errDown)
			lw.mu.Lock() // afterList is called with lw.mu released
			lw.afterList = nil
			lw.mu.Unlock()
		}
		lw.mu.Unlock()
		mustCreate(t, store, pod("ns", "x"))
		synctest.Wait()
		time.Sleep(10 * time.Second)
		store.FailWatches(nil) // expired after an event: list again at once
		synctest.Wait()
		if h := r.Health(); !errors.Is(h.Err, reflector.ErrList) || !h.LastSuccess.Equal(time.Now()) {
			t.Errorf("after a list whose second page failed: Health() = %+v, want ErrList, last success now (the first page)", h)
		}
	})
}

// TestHealthOfUnusableReflector checks that a nil or zero Reflector reports
// the zero Health rather than panicking.
func TestHealthOfUnusableReflector(t *testing.T) {
	var nilR *reflector.Reflector[*Pod]
	if h := nilR.Health(); h != (reflector.Health{}) {
		t.Errorf("nil Reflector: Health() = %+v, want zero", h)
	}
	if h := new(reflector.Reflector[*Pod]).Health(); h != (reflector.Health{}) {
		t.Errorf("zero Reflector: Health() = %+v, want zero", h)
	}
}
