package informer_test

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/informer"
	"github.com/google/go-cmp/cmp"
)

func TestLateRegistrationGetsCacheAsInitial(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStore(t)
		_, _ = s.Create(ctx, pod("ns", "a"))
		inf := newInformer(t, s, informer.Options[*Pod]{})
		stop := start(inf)
		defer stop()
		if err := informer.WaitForCacheSync(ctx, inf.HasSynced); err != nil {
			t.Fatal(err)
		}
		rec := &recorder{}
		reg, err := inf.AddHandler(rec, informer.HandlerOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := informer.WaitForCacheSync(ctx, reg.HasSynced); err != nil {
			t.Fatal(err)
		}
		_, _ = s.Create(ctx, pod("ns", "b"))
		synctest.Wait()
		want := []event{
			{Kind: "add", Key: "ns/a", RV: "1", Initial: true},
			{Kind: "add", Key: "ns/b", RV: "2"},
		}
		if diff := cmp.Diff(want, rec.all()); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})
}

// blockingHandler blocks in every call until released.
type blockingHandler struct {
	recorder
	release chan struct{}
}

func (b *blockingHandler) OnAdd(obj *Pod, initial bool) {
	<-b.release
	b.recorder.OnAdd(obj, initial)
}

func TestSlowHandlerDelaysNoOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStore(t)
		inf := newInformer(t, s, informer.Options[*Pod]{})
		slow := &blockingHandler{release: make(chan struct{})}
		fast := &recorder{}
		slowReg, _ := inf.AddHandler(slow, informer.HandlerOptions{})
		fastReg, _ := inf.AddHandler(fast, informer.HandlerOptions{})
		// Created before Run, so that they are the initial list (created
		// after, an empty first list could make both handlers synced).
		for i := range 100 {
			_, _ = s.Create(ctx, pod("ns", "p"+itoa(i)))
		}
		stop := start(inf)
		defer stop()
		synctest.Wait()
		if n := len(fast.all()); n != 100 {
			t.Errorf("fast handler saw %d adds while the slow one was blocked, want 100", n)
		}
		if n := inf.Lister().Len(); n != 100 {
			t.Errorf("cache holds %d while a handler was blocked, want 100", n)
		}
		if p := slowReg.Pending(); p < 99 {
			t.Errorf("slow handler's Pending = %d, want its backlog (>= 99) visible", p)
		}
		if !fastReg.HasSynced() || slowReg.HasSynced() {
			t.Errorf("HasSynced: fast %v (want true), slow %v (want false: it has not handled the initial list)", fastReg.HasSynced(), slowReg.HasSynced())
		}
		close(slow.release)
		synctest.Wait()
		if n := len(slow.all()); n != 100 || !slowReg.HasSynced() || slowReg.Pending() != 0 {
			t.Errorf("after release: slow saw %d, synced %v, pending %d", n, slowReg.HasSynced(), slowReg.Pending())
		}
	})
}

func TestBoundedBufferAppliesBackpressure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStore(t)
		inf := newInformer(t, s, informer.Options[*Pod]{})
		slow := &blockingHandler{release: make(chan struct{})}
		reg, _ := inf.AddHandler(slow, informer.HandlerOptions{MaxBuffer: 10})
		stop := start(inf)
		defer stop()
		for i := range 100 {
			_, _ = s.Create(ctx, pod("ns", "p"+itoa(i)))
		}
		synctest.Wait()
		if p := reg.Pending(); p > 10 {
			t.Errorf("Pending = %d with MaxBuffer 10", p)
		}
		if n := inf.Lister().Len(); n >= 100 {
			t.Errorf("cache took all %d changes while the bounded handler was stuck: no backpressure", n)
		}
		close(slow.release)
		synctest.Wait()
		if n := len(slow.all()); n != 100 {
			t.Errorf("after release the handler saw %d adds, want all 100", n)
		}
	})
}

// panicky panics on every add of an even-numbered pod.
type panicky struct{ recorder }

func (p *panicky) OnAdd(obj *Pod, initial bool) {
	if obj.Name[len(obj.Name)-1]%2 == 0 {
		panic("handler bug")
	}
	p.recorder.OnAdd(obj, initial)
}

func TestPanickingHandlerIsRecoveredAndStillSyncs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStore(t)
		for i := range 4 {
			_, _ = s.Create(ctx, pod("ns", "p"+itoa(i)))
		}
		inf := newInformer(t, s, informer.Options[*Pod]{})
		bad := &panicky{}
		badReg, _ := inf.AddHandler(bad, informer.HandlerOptions{})
		good := &recorder{}
		_, _ = inf.AddHandler(good, informer.HandlerOptions{})
		stop := start(inf)
		defer stop()
		synctest.Wait()
		if !badReg.HasSynced() {
			t.Error("a handler that panicked on initial items never reports synced")
		}
		if n := badReg.Panics(); n != 2 {
			t.Errorf("Panics = %d, want 2", n)
		}
		if len(bad.all()) != 2 || len(good.all()) != 4 {
			t.Errorf("panicking handler handled %d (want 2), the other %d (want 4)", len(bad.all()), len(good.all()))
		}
	})
}

func TestRemoveWhileEventsFlow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStore(t)
		inf := newInformer(t, s, informer.Options[*Pod]{})
		rec := &recorder{}
		reg, _ := inf.AddHandler(rec, informer.HandlerOptions{})
		other := &recorder{}
		_, _ = inf.AddHandler(other, informer.HandlerOptions{})
		stop := start(inf)
		defer stop()
		for i := range 10 {
			_, _ = s.Create(ctx, pod("ns", "p"+itoa(i)))
		}
		synctest.Wait()
		reg.Remove()
		reg.Remove() // idempotent
		for i := 10; i < 20; i++ {
			_, _ = s.Create(ctx, pod("ns", "p"+itoa(i)))
		}
		synctest.Wait()
		if n := len(rec.all()); n != 10 {
			t.Errorf("removed handler saw %d adds, want the 10 before removal", n)
		}
		if n := len(other.all()); n != 20 {
			t.Errorf("remaining handler saw %d, want 20", n)
		}
	})
}

func TestResyncPerHandler(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStore(t)
		_, _ = s.Create(ctx, pod("ns", "a"))
		inf := newInformer(t, s, informer.Options[*Pod]{})
		every10 := &recorder{}
		never := &recorder{}
		_, _ = inf.AddHandler(every10, informer.HandlerOptions{ResyncPeriod: 10 * time.Second})
		_, _ = inf.AddHandler(never, informer.HandlerOptions{})
		stop := start(inf)
		defer stop()
		time.Sleep(35 * time.Second)
		synctest.Wait()
		resyncs := 0
		for _, e := range every10.all() {
			if e.Kind == "update" {
				if e.RV != e.OldRV {
					t.Errorf("a resync delivered different versions: %+v", e)
				}
				resyncs++
			}
		}
		if resyncs != 3 {
			t.Errorf("handler with a 10s resync got %d resyncs in 35s, want 3", resyncs)
		}
		if n := len(never.all()); n != 1 {
			t.Errorf("handler without resync got %d notifications, want just the add", n)
		}
	})
}

func TestTransformAppliedOnceBeforeCaching(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStore(t)
		_, _ = s.Create(ctx, pod("ns", "a"))
		var calls atomic.Int32
		inf := newInformer(t, s, informer.Options[*Pod]{Transform: func(p *Pod) (*Pod, error) {
			calls.Add(1)
			c := p.DeepCopy()
			c.Phase = "transformed"
			return c, nil
		}})
		var deleted *Pod
		_, _ = inf.AddHandler(informer.HandlerFuncs[*Pod]{
			DeleteFunc: func(obj *Pod, _ bool) { deleted = obj },
		}, informer.HandlerOptions{ResyncPeriod: time.Second})
		stop := start(inf)
		defer stop()
		synctest.Wait()
		got, _ := inf.Lister().Get(controlloop.Key{Namespace: "ns", Name: "a"})
		if got == nil || got.Phase != "transformed" {
			t.Fatalf("cached object %+v was not transformed", got)
		}
		time.Sleep(5 * time.Second) // resyncs re-deliver from the cache: no new transform
		synctest.Wait()
		if n := calls.Load(); n != 1 {
			t.Errorf("Transform ran %d times for one object and some resyncs, want 1", n)
		}
		_ = s.Delete(ctx, controlloop.Key{Namespace: "ns", Name: "a"}, controlloop.DeleteOptions{})
		synctest.Wait()
		if deleted == nil || deleted.Phase != "transformed" {
			t.Errorf("deleted object %+v", deleted)
		}
	})
}

func TestFilteringHandler(t *testing.T) {
	rec := &recorder{}
	h := informer.FilteringHandler[*Pod]{
		Filter:  func(p *Pod) bool { return p.Phase == "Running" },
		Handler: rec,
	}
	pending := &Pod{ObjectMeta: controlloop.ObjectMeta{Name: "a", ResourceVersion: "1"}}
	running := &Pod{ObjectMeta: controlloop.ObjectMeta{Name: "a", ResourceVersion: "2"}, Phase: "Running"}
	running2 := &Pod{ObjectMeta: controlloop.ObjectMeta{Name: "a", ResourceVersion: "3"}, Phase: "Running"}
	h.OnAdd(pending, false)       // filtered out
	h.OnUpdate(pending, running)  // enters: add
	h.OnUpdate(running, running2) // both pass: update
	h.OnUpdate(running2, pending) // leaves: delete
	h.OnUpdate(pending, pending)  // neither: nothing
	h.OnDelete(pending, false)    // filtered out
	want := []event{
		{Kind: "add", Key: "a", RV: "2"},
		{Kind: "update", Key: "a", RV: "3", OldRV: "2"},
		{Kind: "delete", Key: "a", RV: "3"},
	}
	if diff := cmp.Diff(want, rec.all()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestWaitForCacheSyncTimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, cancel := contextWithTimeout(time.Second)
		defer cancel()
		if err := informer.WaitForCacheSync(c, func() bool { return false }); err == nil {
			t.Error("WaitForCacheSync returned nil for a cache that never syncs")
		}
	})
}
