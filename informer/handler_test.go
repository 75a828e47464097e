package informer_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/memstore"
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
		if n := inf.Reader().Len(); n != 100 {
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
		synctest.Wait() // synced on an empty list
		// One change at a time, so that each is a batch of its own: the
		// handler takes the first and stays stuck in it, ten more fill its
		// buffer, the next batch reaches the cache and waits for room, and
		// no later change may reach the cache.
		const creates = 100
		for i := range creates {
			_, _ = s.Create(ctx, pod("ns", "p"+itoa(i)))
			synctest.Wait()
		}
		if p := reg.Pending(); p > 10 {
			t.Errorf("Pending = %d with MaxBuffer 10", p)
		}
		if n := inf.Reader().Len(); n > 1+10+1 {
			t.Errorf("cache took %d of %d changes while the bounded handler was stuck, want at most 12 (one in the handler, 10 buffered, one batch waiting): no backpressure", n, creates)
		}
		close(slow.release)
		synctest.Wait()
		if n := len(slow.all()); n != creates {
			t.Errorf("after release the handler saw %d adds, want all %d", n, creates)
		}
		if n := inf.Reader().Len(); n != creates {
			t.Errorf("after release the cache holds %d, want %d", n, creates)
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
		got, _ := inf.Reader().Get(controlloop.Key{Namespace: "ns", Name: "a"})
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

// TestRelistUnchangedReachesOnlyResyncOnRelist checks that a relist which
// finds an object unchanged delivers nothing for it to a handler not
// registered with ResyncOnRelist, with or without a resync period (once
// its resync has been delivered), while the deletion it infers reaches
// both.
func TestRelistUnchangedReachesOnlyResyncOnRelist(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStore(t)
		_, _ = s.Create(ctx, pod("ns", "a"))
		_, _ = s.Create(ctx, pod("ns", "b"))
		inf := newInformer(t, s, informer.Options[*Pod]{})
		plain := &recorder{}
		_, _ = inf.AddHandler(plain, informer.HandlerOptions{})
		periodic := &recorder{}
		_, _ = inf.AddHandler(periodic, informer.HandlerOptions{ResyncPeriod: time.Hour})
		stop := start(inf)
		defer stop()
		time.Sleep(time.Hour) // periodic resyncs once
		synctest.Wait()
		s.FailWatches(nil) // expired: the informer lists again after a backoff
		synctest.Wait()
		_ = s.Delete(ctx, controlloop.Key{Namespace: "ns", Name: "b"}, controlloop.DeleteOptions{}) // no watch sees it
		time.Sleep(5 * time.Second)
		synctest.Wait()
		want := []event{
			{Kind: "add", Key: "ns/a", RV: "1", Initial: true},
			{Kind: "add", Key: "ns/b", RV: "2", Initial: true},
			{Kind: "delete", Key: "ns/b", RV: "2", Unknown: true},
		}
		if diff := cmp.Diff(want, plain.all()); diff != "" {
			t.Errorf("handler without resync (-want +got):\n%s", diff)
		}
		got := periodic.all()
		resync := eventsByKey(got[min(2, len(got)):min(4, len(got))])
		wantResync := map[string]event{
			"ns/a": {Kind: "update", Key: "ns/a", RV: "1", OldRV: "1"},
			"ns/b": {Kind: "update", Key: "ns/b", RV: "2", OldRV: "2"},
		}
		if diff := cmp.Diff(wantResync, resync); diff != "" || len(got) != 5 || !cmp.Equal(got[4], want[2]) {
			t.Errorf("handler with a resync period: want its two initial adds, its resync, the inferred delete, and nothing for the relist's unchanged a; got %v", got)
		}
	})
}

// gate blocks OnAdd of the pods it names until released.
type gate struct {
	recorder
	block   map[string]bool
	release chan struct{}
}

func (g *gate) OnAdd(obj *Pod, initial bool) {
	if g.block[obj.Name] {
		<-g.release
	}
	g.recorder.OnAdd(obj, initial)
}

// TestHasSyncedWaitsForLastInitialItem checks that a registration reports
// synced only once its handler has returned from the last notification of
// the initial list, not one before.
func TestHasSyncedWaitsForLastInitialItem(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStore(t)
		_, _ = s.Create(ctx, pod("ns", "p0"))
		_, _ = s.Create(ctx, pod("ns", "p1"))
		inf := newInformer(t, s, informer.Options[*Pod]{})
		g := &gate{block: map[string]bool{"p1": true}, release: make(chan struct{})}
		reg, _ := inf.AddHandler(g, informer.HandlerOptions{})
		stop := start(inf)
		defer stop()
		synctest.Wait()
		if len(g.all()) != 1 || reg.HasSynced() {
			t.Errorf("handling the last initial item: %d handled, HasSynced %v; want 1 and false", len(g.all()), reg.HasSynced())
		}
		close(g.release)
		synctest.Wait()
		if !reg.HasSynced() {
			t.Error("not HasSynced after the whole initial list was handled")
		}
	})
}

// gatedList is a source whose first List waits until gate is closed.
type gatedList struct {
	*memstore.Store[*Pod]
	gate chan struct{}
}

func (g gatedList) List(ctx context.Context, opts controlloop.ListOptions) (controlloop.ListResult[*Pod], error) {
	select {
	case <-g.gate:
	case <-ctx.Done():
		return controlloop.ListResult[*Pod]{}, ctx.Err()
	}
	return g.Store.List(ctx, opts)
}

// TestLateHandlerSyncsWithInformer checks that a handler added while the
// informer runs but before it has its first list reports synced only once
// it has had that list, not at once (when the cache it got was empty).
func TestLateHandlerSyncsWithInformer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStore(t)
		for i := range 10 {
			_, _ = s.Create(ctx, pod("ns", "p"+itoa(i)))
		}
		src := gatedList{Store: s, gate: make(chan struct{})}
		inf := newInformer(t, src, informer.Options[*Pod]{})
		stop := start(inf)
		defer stop()
		synctest.Wait()
		late := &recorder{}
		reg, err := inf.AddHandler(late, informer.HandlerOptions{})
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if reg.HasSynced() {
			t.Error("a handler added before the first list synced at once")
		}
		close(src.gate)
		synctest.Wait()
		if !inf.HasSynced() || !reg.HasSynced() {
			t.Errorf("after the first list: informer synced %v, late handler %v; want both", inf.HasSynced(), reg.HasSynced())
		}
		for _, e := range late.all() {
			if !e.Initial {
				t.Errorf("late handler got %+v, want every add of the first list marked initial", e)
			}
		}
		if n := len(late.all()); n != 10 {
			t.Errorf("late handler got %d adds, want 10", n)
		}
	})
}

// TestResyncPeriodsAreIndependent checks that each handler is resynced on
// its own period, not on the shortest one registered.
func TestResyncPeriodsAreIndependent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStore(t)
		_, _ = s.Create(ctx, pod("ns", "a"))
		inf := newInformer(t, s, informer.Options[*Pod]{})
		fast, slow := &recorder{}, &recorder{}
		_, _ = inf.AddHandler(fast, informer.HandlerOptions{ResyncPeriod: 10 * time.Second})
		_, _ = inf.AddHandler(slow, informer.HandlerOptions{ResyncPeriod: 25 * time.Second})
		stop := start(inf)
		defer stop()
		time.Sleep(55 * time.Second)
		synctest.Wait()
		count := func(r *recorder) int {
			n := 0
			for _, e := range r.all() {
				if e.Kind == "update" {
					n++
				}
			}
			return n
		}
		if f, sl := count(fast), count(slow); f != 5 || sl != 2 {
			t.Errorf("in 55s: %d resyncs every 10s (want 5), %d every 25s (want 2)", f, sl)
		}
	})
}

// TestResyncOnRelist checks HandlerOptions.ResyncOnRelist: after a relist,
// a handler with it gets every listed object, an unchanged one as an update
// with old and new the same version, while a handler without it gets
// nothing for unchanged objects, and neither gets another handler's
// periodic resyncs (issue 12, item 1: controller bindings treat a relist as
// a resync).
func TestResyncOnRelist(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStore(t)
		_, _ = s.Create(ctx, pod("ns", "a"))
		_, _ = s.Create(ctx, pod("ns", "b"))
		inf := newInformer(t, s, informer.Options[*Pod]{})
		plain, relisting, aware := &recorder{}, &recorder{}, &relistRecorder{}
		_, _ = inf.AddHandler(plain, informer.HandlerOptions{})
		_, _ = inf.AddHandler(relisting, informer.HandlerOptions{ResyncOnRelist: true})
		_, _ = inf.AddHandler(aware, informer.HandlerOptions{ResyncOnRelist: true, ResyncPeriod: time.Hour})
		// Another handler's periodic resyncs must not reach relisting.
		_, _ = inf.AddHandler(&recorder{}, informer.HandlerOptions{ResyncPeriod: time.Second})
		stop := start(inf)
		defer stop()
		synctest.Wait()
		_, _ = s.Create(ctx, pod("ns", "c"))
		synctest.Wait()
		s.FailWatches(nil) // expired: the informer lists again
		time.Sleep(5 * time.Second)
		synctest.Wait()
		initial := []event{
			{Kind: "add", Key: "ns/a", RV: "1", Initial: true},
			{Kind: "add", Key: "ns/b", RV: "2", Initial: true},
			{Kind: "add", Key: "ns/c", RV: "3"},
		}
		if diff := cmp.Diff(initial, plain.all()); diff != "" {
			t.Errorf("handler without ResyncOnRelist (-want +got):\n%s", diff)
		}
		got := relisting.all()
		if diff := cmp.Diff(initial, got[:min(3, len(got))]); diff != "" {
			t.Errorf("handler with ResyncOnRelist, before the relist (-want +got):\n%s", diff)
		}
		resynced := eventsByKey(got[min(3, len(got)):])
		want := map[string]event{
			"ns/a": {Kind: "update", Key: "ns/a", RV: "1", OldRV: "1"},
			"ns/b": {Kind: "update", Key: "ns/b", RV: "2", OldRV: "2"},
			"ns/c": {Kind: "update", Key: "ns/c", RV: "3", OldRV: "3"},
		}
		if diff := cmp.Diff(want, resynced); diff != "" || len(got) != 6 {
			t.Errorf("handler with ResyncOnRelist, after the relist: %d events (want 6) (-want +got):\n%s", len(got), diff)
		}
		// A RelistHandler is told a relist from a resync: OnRelist for
		// what the relist found unchanged, OnUpdate for its resyncs.
		for k, e := range want {
			e.Kind = "relist"
			want[k] = e
		}
		if diff := cmp.Diff(want, eventsByKey(from(aware.all(), 3))); diff != "" {
			t.Errorf("RelistHandler, after the relist (-want +got):\n%s", diff)
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		for k, e := range want {
			e.Kind = "update"
			want[k] = e
		}
		if diff := cmp.Diff(want, eventsByKey(from(aware.all(), 6))); diff != "" {
			t.Errorf("RelistHandler, after its resync (-want +got):\n%s", diff)
		}
		if got := aware.relistsDone(); !slices.Equal(got, []int{6}) {
			t.Errorf("RelistHandler: relists done after events %v, want [6] (after the relist's three)", got)
		}
	})
}

// eventsByKey returns the last of events for each key.
func eventsByKey(events []event) map[string]event {
	m := map[string]event{}
	for _, e := range events {
		m[e.Key] = e
	}
	return m
}

// from returns events[n:], or nothing if there are not that many.
func from(events []event, n int) []event { return events[min(n, len(events)):] }

// relistRecorder is a recorder that is an [informer.RelistHandler].
type relistRecorder struct {
	recorder
	dones []int // per OnRelistDone: how many events came before it
}

func (r *relistRecorder) OnRelist(obj *Pod) {
	r.record(event{Kind: "relist", Key: controlloop.KeyOf(obj).String(), RV: obj.ResourceVersion, OldRV: obj.ResourceVersion})
}

func (r *relistRecorder) OnRelistDone() {
	r.mu.Lock()
	r.dones = append(r.dones, len(r.events))
	r.mu.Unlock()
}

func (r *relistRecorder) relistsDone() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.dones)
}

// TestRelistDone: a RelistHandler, with or without ResyncOnRelist, is told
// once per relist that it is done, after the relist's notifications (an
// inferred delete here), also for a relist that changed nothing, and
// never for the initial list.
func TestRelistDone(t *testing.T) {
	for _, opts := range []informer.HandlerOptions{{}, {ResyncOnRelist: true}} {
		t.Run(fmt.Sprintf("ResyncOnRelist=%v", opts.ResyncOnRelist), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := newStore(t)
				_, _ = s.Create(ctx, pod("ns", "a"))
				inf := newInformer(t, s, informer.Options[*Pod]{})
				h := &relistRecorder{}
				if _, err := inf.AddHandler(h, opts); err != nil {
					t.Fatal(err)
				}
				stop := start(inf)
				defer stop()
				synctest.Wait()
				if got := h.relistsDone(); len(got) != 0 {
					t.Fatalf("after the initial list: relists done after events %v, want none", got)
				}
				s.FailNextWatch(errors.New("injected"))
				s.BreakWatches()
				synctest.Wait() // the reflector backs off, then lists again
				_ = s.Delete(ctx, controlloop.Key{Namespace: "ns", Name: "a"}, controlloop.DeleteOptions{})
				time.Sleep(time.Minute)
				want := []event{
					{Kind: "add", Key: "ns/a", RV: "1", Initial: true},
					{Kind: "delete", Key: "ns/a", RV: "1", Unknown: true},
				}
				if diff := cmp.Diff(want, h.all()); diff != "" {
					t.Fatalf("events (-want +got):\n%s", diff)
				}
				if got := h.relistsDone(); !slices.Equal(got, []int{2}) {
					t.Fatalf("after a relist that inferred a delete: relists done after events %v, want [2]", got)
				}
				s.FailWatches(nil) // expired: a relist of an empty store, into an empty cache
				time.Sleep(time.Minute)
				if got := h.relistsDone(); !slices.Equal(got, []int{2, 2}) {
					t.Fatalf("after a relist that changed nothing: relists done after events %v, want [2 2]", got)
				}
			})
		})
	}
}

// TestRegistrationResync: Registration.Resync delivers every cached object
// again to that handler alone, once however often it was asked before the
// resync ran, whether or not the handler has a resync period; on a removed
// registration it does nothing.
func TestRegistrationResync(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStore(t)
		_, _ = s.Create(ctx, pod("ns", "a"))
		_, _ = s.Create(ctx, pod("ns", "b"))
		inf := newInformer(t, s, informer.Options[*Pod]{})
		asking, other, periodic, removed := &recorder{}, &recorder{}, &recorder{}, &recorder{}
		reg, _ := inf.AddHandler(asking, informer.HandlerOptions{})
		_, _ = inf.AddHandler(other, informer.HandlerOptions{})
		preg, _ := inf.AddHandler(periodic, informer.HandlerOptions{ResyncPeriod: time.Hour})
		rreg, _ := inf.AddHandler(removed, informer.HandlerOptions{})
		stop := start(inf)
		defer stop()
		synctest.Wait()
		rreg.Remove()
		reg.Resync()
		reg.Resync()
		rreg.Resync()
		synctest.Wait()
		resync := map[string]event{ // in no particular order
			"ns/a": {Kind: "update", Key: "ns/a", RV: "1", OldRV: "1"},
			"ns/b": {Kind: "update", Key: "ns/b", RV: "2", OldRV: "2"},
		}
		resynced := func(r *recorder, n int) map[string]event {
			got := from(r.all(), n)
			if len(got) != len(resync) {
				t.Errorf("%d events after the first %d, want %d: %v", len(got), n, len(resync), got)
			}
			return eventsByKey(got)
		}
		if diff := cmp.Diff(resync, resynced(asking, 2)); diff != "" {
			t.Errorf("the handler that asked, twice (-want +got):\n%s", diff)
		}
		for name, r := range map[string]*recorder{"another": other, "a periodic": periodic, "a removed": removed} {
			if got := from(r.all(), 2); len(got) != 0 {
				t.Errorf("%s handler got %v, want nothing", name, got)
			}
		}
		preg.Resync()
		synctest.Wait()
		if diff := cmp.Diff(resync, resynced(periodic, 2)); diff != "" {
			t.Errorf("a periodic handler that asked (-want +got):\n%s", diff)
		}
		if got := from(asking.all(), 4); len(got) != 0 {
			t.Errorf("the handler that asked before got %v from another's resync, want nothing", got)
		}
		time.Sleep(time.Hour) // the periodic resync keeps its schedule
		synctest.Wait()
		if diff := cmp.Diff(resync, resynced(periodic, 4)); diff != "" {
			t.Errorf("the periodic handler, an hour on (-want +got):\n%s", diff)
		}
	})
}

// TestHandlerAddedDuringBatchGetsEachChangeOnce (issue 14): while the
// informer waits for room in a full bounded buffer in the middle of a
// batch, a handler added meanwhile receives the batch's objects in its
// initial list (the batch is in the cache already) and none of them again
// as notifications: the batch is owed to the handlers registered when it
// was written.
func TestHandlerAddedDuringBatchGetsEachChangeOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStore(t)
		inf := newInformer(t, s, informer.Options[*Pod]{})
		slow := &blockingHandler{release: make(chan struct{})}
		if _, err := inf.AddHandler(slow, informer.HandlerOptions{MaxBuffer: 1}); err != nil {
			t.Fatal(err)
		}
		stop := start(inf)
		defer stop()
		synctest.Wait()
		for i := range 50 {
			_, _ = s.Create(ctx, pod("ns", "p"+itoa(i)))
		}
		synctest.Wait() // the informer waits for the slow handler, mid-batch
		late := &recorder{}
		if _, err := inf.AddHandler(late, informer.HandlerOptions{}); err != nil {
			t.Fatal(err)
		}
		close(slow.release)
		synctest.Wait()
		seen := map[string]int{}
		for _, e := range late.all() {
			seen[e.Key]++
		}
		if len(seen) != 50 {
			t.Errorf("the late handler saw %d objects, want 50", len(seen))
		}
		for k, n := range seen {
			if n != 1 {
				t.Errorf("the late handler was told of %s %d times, want once", k, n)
			}
		}
	})
}

// gatedHandler is a recorder whose updates wait for gate to close.
type gatedHandler struct {
	recorder
	gate chan struct{}
}

func (g *gatedHandler) OnUpdate(old, new *Pod) {
	<-g.gate
	g.recorder.OnUpdate(old, new)
}

// TestResyncsDoNotStealEachOther: two handlers' asked resyncs and a third's
// periodic one, due together while a bounded handler holds a resync's
// delivery up, each reach their own handler whole and no other handler;
// the bounded handler's buffer stays within its MaxBuffer meanwhile; and a
// handler that asked gets none of a later relist's unchanged objects (it
// is not registered with ResyncOnRelist).
func TestResyncsDoNotStealEachOther(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStore(t)
		for i := range 5 {
			_, _ = s.Create(ctx, pod("ns", "p"+itoa(i)))
		}
		inf := newInformer(t, s, informer.Options[*Pod]{})
		a, b, periodic, plain := &recorder{}, &recorder{}, &recorder{}, &recorder{}
		slow := &gatedHandler{gate: make(chan struct{})}
		relists := &relistRecorder{} // tells that the relist below happened
		_, _ = inf.AddHandler(relists, informer.HandlerOptions{})
		ra, _ := inf.AddHandler(a, informer.HandlerOptions{})
		rb, _ := inf.AddHandler(b, informer.HandlerOptions{})
		_, _ = inf.AddHandler(periodic, informer.HandlerOptions{ResyncPeriod: time.Hour})
		_, _ = inf.AddHandler(plain, informer.HandlerOptions{})
		rs, _ := inf.AddHandler(slow, informer.HandlerOptions{MaxBuffer: 1})
		stop := start(inf)
		defer stop()
		synctest.Wait()
		time.Sleep(time.Hour - time.Second)
		ra.Resync()
		rs.Resync()
		synctest.Wait() // delivering to a and slow: waiting for room in slow's buffer
		time.Sleep(time.Second)
		rb.Resync() // and periodic's period has passed
		synctest.Wait()
		if n := rs.Pending(); n > 1 {
			t.Errorf("the bounded handler holds %d notifications during its resync, want at most its MaxBuffer 1", n)
		}
		close(slow.gate)
		synctest.Wait()
		resynced := map[string]*recorder{"a (asked)": a, "b (asked)": b, "periodic": periodic, "slow (asked)": &slow.recorder}
		checkWhole := func(when string) {
			t.Helper()
			for name, r := range resynced {
				got := from(r.all(), 5) // after the initial list
				keys := eventsByKey(got)
				for _, e := range keys {
					if e.Kind != "update" || e.RV != e.OldRV {
						t.Errorf("%s, %s: %v is not a resync's update", when, name, e)
					}
				}
				if len(got) != 5 || len(keys) != 5 {
					t.Errorf("%s, %s got %d updates of %d objects, want one resync: 5 of 5", when, name, len(got), len(keys))
				}
			}
			if got := from(plain.all(), 5); len(got) != 0 {
				t.Errorf("%s, a handler that asked for nothing got %v, want nothing", when, got)
			}
		}
		checkWhole("after the resyncs")
		s.FailWatches(nil) // expired: a relist that finds every object unchanged
		time.Sleep(time.Minute)
		if n := len(relists.relistsDone()); n != 1 {
			t.Fatalf("%d relists done, want 1", n)
		}
		checkWhole("after a relist (no handler is registered with ResyncOnRelist)")
	})
}

// TestStopDropsBatchBehindResync: a batch popped while a resync waits on a
// blocked bounded handler is not applied once Run's context has ended,
// as Run's doc promises of changes not yet applied.
func TestStopDropsBatchBehindResync(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStore(t)
		for i := range 5 {
			_, _ = s.Create(ctx, pod("ns", "p"+itoa(i)))
		}
		inf := newInformer(t, s, informer.Options[*Pod]{})
		slow := &gatedHandler{gate: make(chan struct{})}
		reg, _ := inf.AddHandler(slow, informer.HandlerOptions{MaxBuffer: 1})
		runCtx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- inf.Run(runCtx) }()
		synctest.Wait()
		reg.Resync()
		synctest.Wait() // the resync waits for room in slow's buffer
		for i := range 100 {
			_, _ = s.Create(ctx, pod("ns", "q"+itoa(i)))
		}
		synctest.Wait() // process has popped them and waits for the resync
		cancel()
		synctest.Wait() // Run stops the registrations, which ends the resync's wait
		close(slow.gate)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if n := inf.Reader().Len(); n != 5 {
			t.Errorf("the cache holds %d objects after Run returned, want the 5 it held when ctx ended", n)
		}
	})
}

// TestResyncThenLaterChange: a change that arrives while a resync is being
// delivered is applied after it, so the handler gets the resync's copy of
// the object first, then the change from that copy.
func TestResyncThenLaterChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStore(t)
		for i := range 3 {
			_, _ = s.Create(ctx, pod("ns", "p"+itoa(i)))
		}
		inf := newInformer(t, s, informer.Options[*Pod]{})
		slow := &gatedHandler{gate: make(chan struct{})}
		reg, _ := inf.AddHandler(slow, informer.HandlerOptions{MaxBuffer: 1})
		stop := start(inf)
		defer stop()
		synctest.Wait()
		reg.Resync()
		synctest.Wait() // the resync waits for room in slow's buffer
		p := pod("ns", "p2")
		p.ResourceVersion = "3"
		p.Labels = map[string]string{"changed": "yes"}
		if _, err := s.Update(ctx, p); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if n := len(from(slow.all(), 3)); n != 0 {
			t.Fatalf("the handler got %d updates while its resync was held up, want 0", n)
		}
		close(slow.gate)
		synctest.Wait()
		got := from(slow.all(), 3)
		if len(got) != 4 {
			t.Fatalf("after the resync and the change: %v, want 3 resync updates, then the change", got)
		}
		for _, e := range got[:3] {
			if e.RV != e.OldRV {
				t.Errorf("%v among the resync's updates: a change came before the resync ended", e)
			}
		}
		if want := (event{Kind: "update", Key: "ns/p2", RV: "4", OldRV: "3"}); !cmp.Equal(got[3], want) {
			t.Errorf("last: %v, want the change %v", got[3], want)
		}
	})
}
