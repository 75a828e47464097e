package reconcile_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/reconcile"
	"github.com/controlloop/controlloop/reflector"
	"github.com/controlloop/controlloop/workqueue"
)

func pod(name, rv string) *Pod {
	return &Pod{ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: name, ResourceVersion: rv}}
}

// TestReasons delivers each kind of trigger and checks the reason each
// reconcile records: in its state, in ReasonOf and in its logger. A
// request triggered twice before it runs keeps the first trigger.
func TestReasons(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logs := &syncBuffer{}
		var mu sync.Mutex
		seen := map[string][]string{} // request name -> labels, by ReasonOf
		c, err := reconcile.New(reconcile.Func[reconcile.Request](func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
			r, ok := reconcile.ReasonOf(ctx)
			if !ok {
				t.Errorf("ReasonOf(%v) reports none", req)
			}
			reconcile.Logger(ctx).Info("reconciling")
			mu.Lock()
			seen[req.Name] = append(seen[req.Name], r.Label())
			n := len(seen[req.Name])
			mu.Unlock()
			switch {
			case req.Name == "fails" && n == 1:
				return reconcile.Result{}, errors.New("boom")
			case req.Name == "later" && n == 1:
				return reconcile.Result{RequeueAfter: time.Minute}, nil
			}
			return reconcile.Result{}, nil
		}), reconcile.Options[reconcile.Request]{Name: "rs", Introspect: true, Logger: slog.New(slog.NewTextHandler(logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		self := reconcile.NewBinding(c, reconcile.ForObject[*Pod]())
		owner := reconcile.NewBinding(c, reconcile.ForOwner[*Pod, *ReplicaSet](true))
		self.OnAdd(pod("listed", "1"), true)
		self.OnUpdate(pod("listed", "1"), pod("listed", "1")) // merged: the first trigger stays
		self.OnUpdate(pod("resynced", "1"), pod("resynced", "1"))
		self.OnUpdate(pod("changed", "1"), pod("changed", "2"))
		self.OnRelist(pod("relisted", "1"))
		self.OnDelete(pod("gone", "1"), true)
		self.OnDelete(pod("deleted", "1"), false)
		owner.OnAdd(ownedPod("p", "rs1", true), false)
		for _, name := range []string{"direct", "fails", "later"} {
			c.Queue().Add(reconcile.Request{Namespace: "ns", Name: name})
		}
		stop := run(c)
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if err := stop(); err != nil {
			t.Fatal(err)
		}

		want := map[string][]string{
			"listed": {"initial_list"}, "resynced": {"resync"}, "changed": {"update"},
			"relisted": {"relist"}, "gone": {"relist"}, "deleted": {"delete"}, "rs1": {"add"},
			"direct": {"direct"}, "fails": {"direct", "retry"}, "later": {"direct", "requeue_after"},
		}
		if diff := cmp.Diff(want, seen); diff != "" {
			t.Errorf("reasons seen by the reconciles (-want +got):\n%s", diff)
		}
		states := map[string]reconcile.KeyState[reconcile.Request]{}
		for _, s := range c.KeyStates() {
			states[s.Request.Name] = s
		}
		if got := states["rs1"].Reason; got.Mapping != "owner" || got.Event != "add" || got.Trigger != reconcile.TriggerEvent {
			t.Errorf("rs1's reason = %+v, want an add event mapped by owner", got)
		}
		if got := states["listed"].Reason.Mapping; got != "object" {
			t.Errorf("listed's mapping = %q, want object", got)
		}
		if s := states["fails"]; s.Reconciles != 2 || s.Outcome != reconcile.OutcomeSuccess || s.Reason.Trigger != reconcile.TriggerRetry {
			t.Errorf("fails's state = %+v, want its second reconcile, a successful retry", s)
		}
		if !logs.contains(`request=ns/changed`) || !logs.contains(`reason="event update from  via object"`) {
			t.Errorf("the reconcile logger names no reason:\n%s", logs)
		}
	})
}

// TestRelistReason: an object a relist finds unchanged is reconciled with
// the reason relist, one the informer re-delivers on its sync period with
// resync, and the reasons counter counts each.
func TestRelistReason(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		store, err := memstore.New[*Pod](memstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Create(ctx, pod("p", "")); err != nil {
			t.Fatal(err)
		}
		inf, err := informer.New[*Pod](store, informer.Options[*Pod]{Logger: quiet, Reflector: reflector.Options{Logger: quiet}})
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var seen []string
		c, err := reconcile.New(reconcile.Func[reconcile.Request](func(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
			r, _ := reconcile.ReasonOf(ctx)
			mu.Lock()
			seen = append(seen, r.Label())
			mu.Unlock()
			return reconcile.Result{}, nil
		}), reconcile.Options[reconcile.Request]{Name: "relist", Introspect: true, Logger: quiet, SyncPeriod: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := reconcile.Watch(c, inf, reconcile.ForObject[*Pod]()); err != nil {
			t.Fatal(err)
		}
		m := new(reconcile.Manager)
		m.AddCache(inf)
		m.AddController(c)
		stop := run(m)
		time.Sleep(time.Second)
		store.FailWatches(nil) // expired: the informer lists again
		time.Sleep(time.Minute)
		time.Sleep(time.Hour) // past the binding's sync period, drawn from [54m, 1h]
		synctest.Wait()
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if want := []string{"initial_list", "relist", "resync"}; !cmp.Equal(want, seen) {
			t.Errorf("reasons of p's reconciles: %v, want %v", seen, want)
		}
	})
}

// TestKeyStatesRecordsFailure: the state of a failing request has its
// error, outcome, duration, start and retry count.
func TestKeyStatesRecordsFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := reconcile.New(reconcile.Func[string](func(ctx context.Context, req string) (reconcile.Result, error) {
			time.Sleep(3 * time.Second)
			if req == "bad" {
				return reconcile.Result{}, errors.New("no quota")
			}
			return reconcile.Result{}, nil
		}), reconcile.Options[string]{Name: "rs", Introspect: true, Logger: quiet, Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		c.Queue().Add("bad")
		c.Queue().Add("good")
		stop := run(c)
		time.Sleep(3 * time.Second) // bad's retry is due 5ms later: stop drops it
		synctest.Wait()
		stop()
		bad, ok := c.KeyState("bad")
		if !ok {
			t.Fatal("no state for bad")
		}
		bad.ReconcileID = ""
		want := reconcile.KeyState[string]{
			Request: "bad", Reason: reconcile.Reason{Trigger: reconcile.TriggerDirect},
			Outcome: reconcile.OutcomeError, Error: "no quota", Started: start, Duration: 3 * time.Second,
			Retries: 1, Reconciles: 1,
		}
		if diff := cmp.Diff(want, bad); diff != "" {
			t.Errorf("bad's state (-want +got):\n%s", diff)
		}
		if good, _ := c.KeyState("good"); good.Error != "" || good.Retries != 0 {
			t.Errorf("good's state = %+v, want no error, no retries", good)
		}
	})
}

// TestKeyStatesBounded: the table keeps the last KeyStates requests, the
// least recently reconciled dropped first, the most recent listed first.
func TestKeyStatesBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := reconcile.New(reconcile.Func[string](func(context.Context, string) (reconcile.Result, error) {
			return reconcile.Result{}, nil
		}), reconcile.Options[string]{Name: "rs", Introspect: true, KeyStates: 2, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		stop := run(c)
		for _, req := range []string{"a", "b", "a", "c"} {
			c.Queue().Add(req)
			synctest.Wait()
		}
		stop()
		var got []string
		for _, s := range c.KeyStates() {
			got = append(got, s.Request)
		}
		if diff := cmp.Diff([]string{"c", "a"}, got); diff != "" {
			t.Errorf("KeyStates (-want +got):\n%s", diff)
		}
		if a, _ := c.KeyState("a"); a.Reconciles != 2 {
			t.Errorf("a's Reconciles = %d, want 2", a.Reconciles)
		}
	})
}

// TestNoIntrospectionByDefault: without Options.Introspect nothing is kept.
func TestNoIntrospectionByDefault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := reconcile.New(reconcile.Func[string](func(ctx context.Context, _ string) (reconcile.Result, error) {
			if _, ok := reconcile.ReasonOf(ctx); ok {
				t.Error("ReasonOf reports a reason without Introspect")
			}
			return reconcile.Result{}, nil
		}), reconcile.Options[string]{Name: "rs", Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		stop := run(c)
		c.Queue().Add("a")
		synctest.Wait()
		stop()
		if c.Introspecting() || c.KeyStates() != nil {
			t.Error("a controller without Introspect keeps states")
		}
	})
}

// TestHandlerSyncTimeout: a binding whose handler is slow to take the
// initial list fails Run with ErrHandlerSyncTimeout after
// HandlerSyncTimeout, not CacheSyncTimeout, and Bindings shows the cache
// synced and the delivery's progress meanwhile.
func TestHandlerSyncTimeout(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout time.Duration // Options.HandlerSyncTimeout
		want    time.Duration
	}{{"set", 10 * time.Second, 10 * time.Second}, {"default", 0, 2 * time.Minute}} {
		t.Run(tc.name, func(t *testing.T) { testHandlerSyncTimeout(t, tc.timeout, tc.want) })
	}
}

func testHandlerSyncTimeout(t *testing.T, timeout, wait time.Duration) {
	synctest.Test(t, func(t *testing.T) {
		store, err := memstore.New[*Pod](memstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"a", "b", "c"} {
			if _, err := store.Create(context.Background(), pod(name, "")); err != nil {
				t.Fatal(err)
			}
		}
		inf, err := informer.New[*Pod](store, informer.Options[*Pod]{Name: "pods", Logger: quiet, Reflector: reflector.Options{Logger: quiet}})
		if err != nil {
			t.Fatal(err)
		}
		c, err := reconcile.New(reconcile.Func[reconcile.Request](func(context.Context, reconcile.Request) (reconcile.Result, error) {
			return reconcile.Result{}, nil
		}), reconcile.Options[reconcile.Request]{Name: "rs", Logger: quiet, CacheSyncTimeout: time.Hour, HandlerSyncTimeout: timeout})
		if err != nil {
			t.Fatal(err)
		}
		release := make(chan struct{})
		mapped := 0
		slow := func(obj *Pod, reqs []reconcile.Request) []reconcile.Request {
			if mapped++; mapped == 2 {
				<-release // the second initial add takes its time
			}
			return append(reqs, controlloop.KeyOf(obj))
		}
		if _, err := reconcile.Watch(c, inf, slow); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go inf.Run(ctx)
		start := time.Now()
		errc := make(chan error)
		go func() { errc <- c.Run(ctx) }()
		time.Sleep(time.Second)
		synctest.Wait()
		want := []reconcile.BindingStatus{{Informer: "pods", CacheSynced: true, Delivered: 1, Total: 3, TotalKnown: true, Pending: 1}}
		if diff := cmp.Diff(want, c.Bindings()); diff != "" {
			t.Errorf("Bindings during the slow start (-want +got):\n%s", diff)
		}
		err = <-errc
		// The wait starts once the cache has synced, a few milliseconds in.
		if took := time.Since(start); !errors.Is(err, reconcile.ErrHandlerSyncTimeout) || took < wait || took > wait+time.Second {
			t.Errorf("Run = %v after %v, want ErrHandlerSyncTimeout after %v", err, took, wait)
		}
		close(release)
		cancel()
		synctest.Wait()
	})
}

// nilTracer is a Tracer type whose nil pointer Options refuses.
type nilTracer struct{}

func (*nilTracer) StartReconcile(ctx context.Context, _ reconcile.ReconcileSpan) (context.Context, func(reconcile.ReconcileEnd)) {
	return ctx, func(reconcile.ReconcileEnd) {}
}

func (*nilTracer) StartWrite(ctx context.Context, _ string, _ controlloop.Key) (context.Context, func(error)) {
	return ctx, func(error) {}
}

// TestIntrospectionRace reads the states and bindings while four workers
// reconcile and requeue a few keys: under -race it shows the side table
// and the state table are guarded, and the table never exceeds its bound.
func TestIntrospectionRace(t *testing.T) {
	c, err := reconcile.New(reconcile.Func[int](func(_ context.Context, req int) (reconcile.Result, error) {
		if req%3 == 0 {
			return reconcile.Result{}, errors.New("multiple of three")
		}
		return reconcile.Result{}, nil
	}), reconcile.Options[int]{Name: "race", Workers: 4, Introspect: true, KeyStates: 16, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(c)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 5000 {
			c.Queue().Add(i % 40)
		}
	})
	for range 300 {
		if n := len(c.KeyStates()); n > 16 {
			t.Fatalf("%d key states, bound 16", n)
		}
		c.KeyState(3)
		c.Bindings()
		c.Queue().Snapshot()
	}
	wg.Wait()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// TestPending: Pending reports what the queue holds, each request spelt
// with fmt.Sprint, with or without Introspect: a request waiting for its
// RequeueAfter, with its due time, and one being reconciled.
func TestPending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hold := make(chan struct{})
		c, err := reconcile.New(reconcile.Func[reconcile.Request](func(_ context.Context, req reconcile.Request) (reconcile.Result, error) {
			if req.Name == "busy" {
				<-hold
			}
			return reconcile.Result{RequeueAfter: time.Minute}, nil
		}), reconcile.Options[reconcile.Request]{Name: "pending", Logger: quiet, Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- c.Run(ctx) }()
		c.Queue().Add(reconcile.Request{Namespace: "ns", Name: "later"})
		c.Queue().Add(reconcile.Request{Namespace: "ns", Name: "busy"})
		synctest.Wait()
		got := map[string]workqueue.ItemState{}
		for _, it := range c.Pending() {
			got[it.Item] = it.State
			if it.Item == "ns/later" && !it.ReadyAt.Equal(time.Now().Add(time.Minute)) {
				t.Errorf("ns/later is due at %v, want a minute from now", it.ReadyAt)
			}
		}
		if len(got) != 2 || got["ns/later"] != workqueue.Waiting || got["ns/busy"] != workqueue.Processing {
			t.Errorf("Pending() = %v, want ns/later waiting and ns/busy processing", got)
		}
		close(hold)
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}
