package reflector_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/reflector"
)

// TestMalformedVersionRelists checks that a version the source refuses,
// recorded from an event, does not stop the reflector for good: the failed
// Watch call leads to a list (issue 12, item 5: the reflector retried the
// same watch forever and the store never changed again).
func TestMalformedVersionRelists(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var seen errs
		store, lw, sk, r := setup(t, 1, reflector.Options{WatchErrorHandler: seen.handle})
		lw.setWatch(func(ctx context.Context, opts controlloop.WatchOptions) (<-chan controlloop.Event[*Pod], error) {
			lw.setWatch(nil) // once
			a := mustCreate(t, store, pod("ns", "a"))
			ch := make(chan controlloop.Event[*Pod], 1)
			ch <- controlloop.Event[*Pod]{Type: controlloop.Added, Object: a, ResourceVersion: "not-a-version"}
			close(ch)
			return ch, nil
		})
		start(t, r)
		time.Sleep(time.Minute) // past any backoff
		synctest.Wait()
		mustCreate(t, store, pod("ns", "b"))
		synctest.Wait()
		if got := seen.all(); len(got) == 0 || !errors.Is(got[0], controlloop.ErrInvalid) {
			t.Errorf("handler saw %v, want the source's ErrInvalid first", got)
		}
		if lists, _ := lw.calls(); len(lists) != 2 {
			t.Errorf("%d lists, want 2: the refused version must lead to a list", len(lists))
		}
		checkInSync(t, store, sk, r)
	})
}

// TestExpiredRelistsAtOnce checks that an expired version is listed again
// at once, however long the backoff has grown from earlier failures (issue
// 12, item 5: on etcd the list came 1.6-3.8s after a reconnect), except
// when a watch from a fresh list expires before applying any event: that
// backs off, so that a source compacting faster than the reflector lists
// is not listed in a tight loop.
func TestExpiredRelistsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store, lw, _, r := setup(t, 1, reflector.Options{InitialBackoff: time.Second, Jitter: -1})
		start(t, r)
		for _, d := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
			store.FailWatches(errors.New("connection lost")) // watch again after d
			synctest.Wait()
			time.Sleep(d)
			synctest.Wait()
		}
		lists := func() int { l, _ := lw.calls(); return len(l) }
		if n := lists(); n != 1 {
			t.Fatalf("%d lists after failed watches, want 1", n)
		}

		store.FailWatches(nil) // expired; the watch resumed from an old version
		synctest.Wait()
		if n := lists(); n != 2 {
			t.Errorf("%d lists right after an expiry, want 2: the list waited out the backoff", n)
		}

		store.FailWatches(nil) // expired again, the watch from the fresh list having applied nothing
		synctest.Wait()
		if n := lists(); n != 2 {
			t.Errorf("%d lists right after a fresh list's watch expired, want still 2: no backoff", n)
		}
		time.Sleep(8 * time.Second) // the next backoff
		synctest.Wait()
		if n := lists(); n != 3 {
			t.Errorf("%d lists after the backoff, want 3", n)
		}

		mustCreate(t, store, pod("ns", "a"))
		synctest.Wait()
		store.FailWatches(nil) // expired after applying an event: at once
		synctest.Wait()
		if n := lists(); n != 4 {
			t.Errorf("%d lists right after an expiry that followed an event, want 4", n)
		}
	})
}
