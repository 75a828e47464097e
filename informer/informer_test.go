package informer_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/indexer"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/reflector"
	"github.com/google/go-cmp/cmp"
)

var ctx = context.Background()

func TestInitialListThenChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStore(t)
		a, _ := s.Create(ctx, pod("ns", "a"))
		_, _ = s.Create(ctx, pod("ns", "b"))
		inf := newInformer(t, s, informer.Options[*Pod]{})
		rec := &recorder{}
		reg, err := inf.AddHandler(rec, informer.HandlerOptions{})
		if err != nil {
			t.Fatal(err)
		}
		stop := start(inf)
		defer stop()
		if err := informer.WaitForCacheSync(ctx, inf.HasSynced, reg.HasSynced); err != nil {
			t.Fatal(err)
		}
		a.Phase = "Running"
		a2, _ := s.Update(ctx, a)
		_ = s.Delete(ctx, controlloop.Key{Namespace: "ns", Name: "b"}, controlloop.DeleteOptions{})
		synctest.Wait()

		want := []event{
			{Kind: "add", Key: "ns/a", RV: "1", Initial: true},
			{Kind: "add", Key: "ns/b", RV: "2", Initial: true},
			{Kind: "update", Key: "ns/a", RV: a2.ResourceVersion, OldRV: "1"},
			{Kind: "delete", Key: "ns/b", RV: "4"},
		}
		if diff := cmp.Diff(want, rec.all()); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(storeState(s), cacheState(inf)); diff != "" {
			t.Errorf("cache differs from store (-store +cache):\n%s", diff)
		}
		got, err := inf.Reader().Get(controlloop.Key{Namespace: "ns", Name: "a"})
		if err != nil || got.Phase != "Running" {
			t.Errorf("Lister.Get = %v, %v", got, err)
		}
		if _, err := inf.Reader().Get(controlloop.Key{Namespace: "ns", Name: "b"}); !errors.Is(err, controlloop.ErrNotFound) {
			t.Errorf("Lister.Get of a deleted object = %v, want ErrNotFound", err)
		}
	})
}

// TestRunOnce checks the lifecycle rule: a second Run, while the first runs
// and after it returned, returns at once an error wrapping
// ErrAlreadyStarted and leaves the first alone; the first returns nil once
// its context ends; AddHandler after that is refused.
func TestRunOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStore(t)
		inf := newInformer(t, s, informer.Options[*Pod]{})
		rec := &recorder{}
		if _, err := inf.AddHandler(rec, informer.HandlerOptions{}); err != nil {
			t.Fatal(err)
		}
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- inf.Run(runCtx) }()
		synctest.Wait()
		if err := inf.Run(ctx); !errors.Is(err, controlloop.ErrAlreadyStarted) {
			t.Errorf("Run while running = %v, want ErrAlreadyStarted", err)
		}
		_, _ = s.Create(ctx, pod("ns", "a"))
		synctest.Wait()
		if n := len(rec.all()); n != 1 {
			t.Errorf("after a refused second Run the handler saw %d adds, want 1: the first Run goes on", n)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run after its context ended = %v, want nil", err)
		}
		// Its own refusal, not the failure of a second run of its reflector.
		if err := inf.Run(ctx); !errors.Is(err, controlloop.ErrAlreadyStarted) || err.Error() != "informer: Run: controlloop: already started" {
			t.Errorf("Run after Run returned = %v, want ErrAlreadyStarted", err)
		}
		if _, err := inf.AddHandler(&recorder{}, informer.HandlerOptions{}); !errors.Is(err, informer.ErrStopped) {
			t.Errorf("AddHandler after Run = %v, want ErrStopped", err)
		}
	})
}

// TestRunReturnsReflectorError checks that Run returns the error that
// stopped its reflector, at once and without its context ending, having
// stopped every goroutine it started (the bubble would report any left).
func TestRunReturnsReflectorError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		inf := newInformer(t, newStore(t), informer.Options[*Pod]{})
		if _, err := inf.AddHandler(&recorder{}, informer.HandlerOptions{ResyncPeriod: time.Second}); err != nil {
			t.Fatal(err)
		}
		reflCtx, stopRefl := context.WithCancel(ctx)
		reflDone := make(chan error, 1)
		go func() { reflDone <- inf.Reflector().Run(reflCtx) }() // the informer's Run of it now fails
		synctest.Wait()
		err := inf.Run(ctx) // ctx never ends: only the failure can end Run
		if !errors.Is(err, controlloop.ErrAlreadyStarted) || !strings.HasPrefix(err.Error(), "informer: reflector stopped: ") {
			t.Errorf("Run = %v, want the reflector's ErrAlreadyStarted, wrapped", err)
		}
		stopRefl()
		if err := <-reflDone; err != nil {
			t.Errorf("reflector Run = %v", err)
		}
	})
}

// TestZeroInformer checks that a nil or zero Informer refuses to run and
// reads as empty instead of panicking.
func TestZeroInformer(t *testing.T) {
	for name, inf := range map[string]*informer.Informer[*Pod]{"nil": nil, "zero": {}} {
		if err := inf.Run(ctx); !errors.Is(err, controlloop.ErrInvalid) {
			t.Errorf("%s: Run = %v, want ErrInvalid", name, err)
		}
		if _, err := inf.AddHandler(&recorder{}, informer.HandlerOptions{}); !errors.Is(err, controlloop.ErrInvalid) {
			t.Errorf("%s: AddHandler = %v, want ErrInvalid", name, err)
		}
		if err := inf.AddIndexers(nil); !errors.Is(err, controlloop.ErrInvalid) {
			t.Errorf("%s: AddIndexers = %v, want ErrInvalid", name, err)
		}
		r := inf.Reader()
		if _, err := r.Get(controlloop.Key{Name: "a"}); !errors.Is(err, controlloop.ErrNotFound) || r.Len() != 0 || len(controlloop.Collect(r.List(controlloop.Selector{Namespace: "ns"}))) != 0 {
			t.Errorf("%s: Reader not empty: Get err %v, Len %d", name, err, r.Len())
		}
		if inf.HasSynced() || inf.LastSyncResourceVersion() != "" {
			t.Errorf("%s: HasSynced %v, LastSyncResourceVersion %q", name, inf.HasSynced(), inf.LastSyncResourceVersion())
		}
	}
}

// TestBadInput checks that New and AddHandler refuse bad input with errors
// that wrap ErrInvalid and name the field and the rule.
func TestBadInput(t *testing.T) {
	s := newStore(t)
	for _, c := range []struct {
		name string
		lw   controlloop.ListerWatcher[*Pod]
		opts informer.Options[*Pod]
		want string
	}{
		{"nil source", nil, informer.Options[*Pod]{}, "informer: New: nil ListerWatcher"},
		// Issue 12, item 7: a nil *memstore.Store panicked on the reflector's goroutine.
		{"nil pointer source", (*memstore.Store[*Pod])(nil), informer.Options[*Pod]{}, "informer: New: nil ListerWatcher"},
		{"reflector resync", s, informer.Options[*Pod]{Reflector: reflector.Options{ResyncPeriod: time.Minute}},
			"informer: Options.Reflector.ResyncPeriod is 1m0s: must be zero: an informer resyncs per handler, set HandlerOptions.ResyncPeriod"},
		{"reflector option", s, informer.Options[*Pod]{Reflector: reflector.Options{MaxBackoff: -1}},
			"informer: Options.Reflector: reflector: Options.MaxBackoff is -1ns: must not be negative"},
		{"indexer option", s, informer.Options[*Pod]{Indexers: indexer.Indexers[*Pod]{"phase": nil}},
			"informer: Options.Indexers: indexer: Options.Indexers"},
		{"name not UTF-8", s, informer.Options[*Pod]{Name: "pods\xff"},
			`informer: Options.Name is "pods\xff": must be valid UTF-8`},
		{"nil pointer metrics", s, informer.Options[*Pod]{Metrics: (*recordingMetrics)(nil)},
			"informer: Options.Metrics is *informer_test.recordingMetrics(nil): must not be a nil pointer"},
	} {
		inf, err := informer.New(c.lw, c.opts)
		if !errors.Is(err, controlloop.ErrInvalid) || inf != nil {
			t.Errorf("%s: New = %v, %v; want an error wrapping ErrInvalid", c.name, inf, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: error %q, want it to start %q", c.name, err, c.want)
		}
	}

	inf := newInformer(t, s, informer.Options[*Pod]{})
	var nilRec *recorder
	for _, h := range []informer.Handler[*Pod]{nil, nilRec} {
		if _, err := inf.AddHandler(h, informer.HandlerOptions{}); !errors.Is(err, informer.ErrNilHandler) || !errors.Is(err, controlloop.ErrInvalid) {
			t.Errorf("AddHandler(%#v) = %v, want ErrNilHandler wrapping ErrInvalid", h, err)
		}
	}
	for _, c := range []struct {
		opts informer.HandlerOptions
		want string
	}{
		{informer.HandlerOptions{ResyncPeriod: -time.Second}, "informer: HandlerOptions.ResyncPeriod is -1s: must not be negative"},
		{informer.HandlerOptions{MaxBuffer: -1}, "informer: HandlerOptions.MaxBuffer is -1: must not be negative"},
	} {
		_, err := inf.AddHandler(&recorder{}, c.opts)
		if !errors.Is(err, controlloop.ErrInvalid) || err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("AddHandler(%+v) = %v, want %q wrapping ErrInvalid", c.opts, err, c.want)
		}
	}
}

// TestRunWaitsForHandlers checks that Run returns only once every handler
// has returned from the notification it was handling when ctx ended.
func TestRunWaitsForHandlers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStore(t)
		_, _ = s.Create(ctx, pod("ns", "a"))
		inf := newInformer(t, s, informer.Options[*Pod]{})
		busy := &blockingHandler{release: make(chan struct{})}
		_, _ = inf.AddHandler(busy, informer.HandlerOptions{})
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- inf.Run(runCtx) }()
		synctest.Wait() // busy is inside OnAdd
		cancel()
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("Run returned (%v) while a handler was still running", err)
		default:
		}
		close(busy.release)
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
}

// TestMissedDeleteIsFinalStateUnknown checks OnDelete's flag
// deterministically: a delete the watch delivers reaches handlers with
// finalStateUnknown false; one the informer missed (made while its watch
// was down, and found by the relist) reaches every handler, the early and
// the late, with finalStateUnknown true and the last known object.
func TestMissedDeleteIsFinalStateUnknown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStore(t)
		_, _ = s.Create(ctx, pod("ns", "seen"))
		_, _ = s.Create(ctx, pod("ns", "missed"))
		inf := newInformer(t, s, informer.Options[*Pod]{})
		early := &recorder{}
		_, _ = inf.AddHandler(early, informer.HandlerOptions{})
		stop := start(inf)
		defer stop()
		synctest.Wait()
		late := &recorder{}
		_, _ = inf.AddHandler(late, informer.HandlerOptions{})
		_ = s.Delete(ctx, controlloop.Key{Namespace: "ns", Name: "seen"}, controlloop.DeleteOptions{})
		synctest.Wait()
		s.FailWatches(errors.New("connection lost")) // the informer watches again after a backoff
		synctest.Wait()
		_ = s.Delete(ctx, controlloop.Key{Namespace: "ns", Name: "missed"}, controlloop.DeleteOptions{})
		if err := s.Compact(s.ResourceVersion()); err != nil { // the watch's version expires: a relist
			t.Fatal(err)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		want := []event{
			{Kind: "delete", Key: "ns/seen", RV: "3"},
			{Kind: "delete", Key: "ns/missed", RV: "2", Unknown: true},
		}
		for name, r := range map[string]*recorder{"early": early, "late": late} {
			var deletes []event
			for _, e := range r.all() {
				if e.Kind == "delete" {
					deletes = append(deletes, e)
				}
			}
			if diff := cmp.Diff(want, deletes); diff != "" {
				t.Errorf("%s handler's deletes (-want +got):\n%s", name, diff)
			}
		}
	})
}
