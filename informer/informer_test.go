package informer_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/informer"
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
		got, err := inf.Lister().Get(controlloop.Key{Namespace: "ns", Name: "a"})
		if err != nil || got.Phase != "Running" {
			t.Errorf("Lister.Get = %v, %v", got, err)
		}
		if _, err := inf.Lister().Get(controlloop.Key{Namespace: "ns", Name: "b"}); !errors.Is(err, controlloop.ErrNotFound) {
			t.Errorf("Lister.Get of a deleted object = %v, want ErrNotFound", err)
		}
	})
}

func TestRunTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		inf := newInformer(t, newStore(t), informer.Options[*Pod]{})
		stop := start(inf)
		synctest.Wait()
		if err := inf.Run(ctx); !errors.Is(err, informer.ErrAlreadyRunning) {
			t.Errorf("second Run = %v", err)
		}
		stop()
		if _, err := inf.AddHandler(&recorder{}, informer.HandlerOptions{}); !errors.Is(err, informer.ErrStopped) {
			t.Errorf("AddHandler after Run = %v, want ErrStopped", err)
		}
	})
}

func TestBadInput(t *testing.T) {
	if _, err := informer.New[*Pod](nil, informer.Options[*Pod]{}); !errors.Is(err, controlloop.ErrInvalid) {
		t.Errorf("New(nil) = %v", err)
	}
	inf := newInformer(t, newStore(t), informer.Options[*Pod]{})
	if _, err := inf.AddHandler(nil, informer.HandlerOptions{}); !errors.Is(err, informer.ErrNilHandler) {
		t.Errorf("AddHandler(nil) = %v", err)
	}
	if _, err := inf.AddHandler(&recorder{}, informer.HandlerOptions{ResyncPeriod: -time.Second}); err == nil {
		t.Error("AddHandler with a negative resync period succeeded")
	}
}
