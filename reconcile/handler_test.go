package reconcile_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/reconcile"
	"github.com/controlloop/controlloop/reflector"
)

type Pod struct {
	controlloop.ObjectMeta
	Phase string
}

func (p *Pod) DeepCopy() *Pod {
	c := *p
	c.Labels = maps.Clone(p.Labels)
	c.OwnerReferences = slices.Clone(p.OwnerReferences)
	return &c
}

// ReplicaSet owns Pods.
type ReplicaSet struct {
	controlloop.ObjectMeta
}

// Deployment owns ReplicaSets, and (in TestForOwner) Pods.
type Deployment struct {
	controlloop.ObjectMeta
}

func ownedPod(name, owner string, controller bool) *Pod {
	rs := &ReplicaSet{controlloop.ObjectMeta{Namespace: "ns", Name: owner}}
	return &Pod{ObjectMeta: controlloop.ObjectMeta{
		Namespace: "ns", Name: name,
		OwnerReferences: []controlloop.OwnerReference{controlloop.OwnerOf(rs, controller)},
	}}
}

func TestForOwner(t *testing.T) {
	p := &Pod{ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: "p", OwnerReferences: []controlloop.OwnerReference{
		{Kind: "ReplicaSet", Name: "rs1", Controller: true},
		{Kind: "ReplicaSet", Name: "rs2"},
		{Kind: "Deployment", Name: "d"},
	}}}
	all := reconcile.ForOwner[*Pod, *ReplicaSet](false)(p, nil)
	if want := []reconcile.Request{{Namespace: "ns", Name: "rs1"}, {Namespace: "ns", Name: "rs2"}}; !slices.Equal(all, want) {
		t.Errorf("ForOwner(any) = %v, want %v", all, want)
	}
	ctl := reconcile.ForOwner[*Pod, *ReplicaSet](true)(p, nil)
	if want := []reconcile.Request{{Namespace: "ns", Name: "rs1"}}; !slices.Equal(ctl, want) {
		t.Errorf("ForOwner(controller only) = %v, want %v", ctl, want)
	}
	if got := reconcile.ForOwner[*Pod, *Deployment](false)(p, nil); !slices.Equal(got, []reconcile.Request{{Namespace: "ns", Name: "d"}}) {
		t.Errorf("ForOwner[*Pod, *Deployment] = %v, want only the Deployment", got)
	}
	if got := reconcile.ForOwner[*Pod, *Deployment](true)(p, nil); len(got) != 0 {
		t.Errorf("ForOwner[*Pod, *Deployment](controller only) = %v, want none", got)
	}
	if got := reconcile.ForObject[*Pod]()(p, nil); !slices.Equal(got, []reconcile.Request{{Namespace: "ns", Name: "p"}}) {
		t.Errorf("ForObject = %v", got)
	}
}

func TestPredicates(t *testing.T) {
	mk := func(rv string, gen int64, labels map[string]string) *Pod {
		return &Pod{ObjectMeta: controlloop.ObjectMeta{Name: "p", ResourceVersion: rv, Generation: gen, Labels: labels}}
	}
	web := map[string]string{"app": "web"}
	db := map[string]string{"app": "db"}
	cases := []struct {
		name     string
		pred     reconcile.Predicate[*Pod]
		old, new *Pod
		want     bool
	}{
		{"rv changed", reconcile.ResourceVersionChanged[*Pod](), mk("1", 1, nil), mk("2", 1, nil), true},
		{"rv same (resync)", reconcile.ResourceVersionChanged[*Pod](), mk("1", 1, nil), mk("1", 1, nil), false},
		{"generation changed", reconcile.GenerationChanged[*Pod](), mk("1", 1, nil), mk("2", 2, nil), true},
		{"status only", reconcile.GenerationChanged[*Pod](), mk("1", 1, nil), mk("2", 1, nil), false},
		{"labels changed", reconcile.LabelsChanged[*Pod](), mk("1", 1, web), mk("2", 1, db), true},
		{"labels same", reconcile.LabelsChanged[*Pod](), mk("1", 1, web), mk("2", 1, web), false},
		{"selector: leaves", reconcile.LabelSelector[*Pod](controlloop.Selector{Labels: web}), mk("1", 1, web), mk("2", 1, db), true},
		{"selector: never in", reconcile.LabelSelector[*Pod](controlloop.Selector{Labels: web}), mk("1", 1, db), mk("2", 1, db), false},
		{"and", reconcile.And(reconcile.ResourceVersionChanged[*Pod](), reconcile.GenerationChanged[*Pod]()), mk("1", 1, nil), mk("2", 1, nil), false},
		{"and()", reconcile.And[*Pod](), mk("1", 1, nil), mk("1", 1, nil), true},
		{"or", reconcile.Or(reconcile.LabelsChanged[*Pod](), reconcile.GenerationChanged[*Pod]()), mk("1", 1, nil), mk("2", 2, nil), true},
		{"or()", reconcile.Or[*Pod](), mk("1", 1, nil), mk("2", 2, nil), false},
		{"not", reconcile.Not(reconcile.GenerationChanged[*Pod]()), mk("1", 1, nil), mk("2", 1, nil), true},
	}
	for _, c := range cases {
		if got := c.pred.Update(c.old, c.new); got != c.want {
			t.Errorf("%s: Update = %v, want %v", c.name, got, c.want)
		}
	}
	sel := reconcile.LabelSelector[*Pod](controlloop.Selector{Labels: web})
	if !sel.Add(mk("1", 1, web)) || sel.Add(mk("1", 1, db)) || !sel.Delete(mk("1", 1, web)) {
		t.Error("LabelSelector's Add/Delete do not follow the labels")
	}

	// And, Or and Not combine adds and deletes too; a nil function passes.
	webPod, dbPod := mk("1", 1, web), mk("1", 1, db)
	webOnly := reconcile.LabelSelector[*Pod](controlloop.Selector{Labels: web})
	dbOnly := reconcile.LabelSelector[*Pod](controlloop.Selector{Labels: db})
	for _, c := range []struct {
		name string
		pred reconcile.Predicate[*Pod]
		obj  *Pod
		want bool
	}{
		{"and: one fails", reconcile.And(webOnly, dbOnly), webPod, false},
		{"and: all pass", reconcile.And(webOnly, reconcile.Predicate[*Pod]{}), webPod, true},
		{"or: one passes", reconcile.Or(webOnly, dbOnly), dbPod, true},
		{"or: none passes", reconcile.Or(webOnly), dbPod, false},
		{"not", reconcile.Not(webOnly), dbPod, true},
		{"not of nil", reconcile.Not(reconcile.Predicate[*Pod]{}), dbPod, false},
	} {
		if got := c.pred.Add(c.obj); got != c.want {
			t.Errorf("%s: Add = %v, want %v", c.name, got, c.want)
		}
		if got := c.pred.Delete(c.obj); got != c.want {
			t.Errorf("%s: Delete = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestWatchEnqueuesOwnersAtPriority binds a Pod informer to a ReplicaSet
// controller through ForOwner: Pod changes reconcile their owner; the
// initial list goes in at low priority, after real changes.
func TestWatchEnqueuesOwners(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		store, err := memstore.New[*Pod](memstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = store.Create(ctx, ownedPod("p1", "rs-a", true))
		_, _ = store.Create(ctx, ownedPod("p2", "rs-b", true))
		_, _ = store.Create(ctx, ownedPod("p3", "rs-c", false)) // not the controller: ignored

		inf, err := informer.New[*Pod](store, informer.Options[*Pod]{Logger: quiet, Reflector: reflector.Options{Logger: quiet}})
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var order []string
		r := reconcile.Func[reconcile.Request](func(_ context.Context, req reconcile.Request) (reconcile.Result, error) {
			mu.Lock()
			order = append(order, req.Name)
			mu.Unlock()
			return reconcile.Result{}, nil
		})
		c, err := reconcile.New(r, reconcile.Options[reconcile.Request]{Name: "rs", Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := reconcile.Watch(c, inf, reconcile.ForOwner[*Pod, *ReplicaSet](true)); err != nil {
			t.Fatal(err)
		}
		// A real change queued before the workers start outranks the initial list.
		c.Queue().Add(reconcile.Request{Namespace: "ns", Name: "urgent"})

		var m reconcile.Manager
		m.AddCache(inf)
		m.AddController(c)
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error)
		go func() { done <- m.Run(runCtx) }()
		time.Sleep(time.Second) // the caches sync and the workers drain the queue

		p1, _ := store.Get(ctx, controlloop.Key{Namespace: "ns", Name: "p1"})
		p1.Phase = "Running"
		_, _ = store.Update(ctx, p1)
		time.Sleep(time.Second)
		stop()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		// The update enqueues the new and the old Pod's owner, rs-a both
		// times: merged, or reconciled twice if a worker took the first in
		// between.
		ok := (len(order) == 4 || len(order) == 5) && order[0] == "urgent" &&
			slices.Contains(order[1:3], "rs-a") && slices.Contains(order[1:3], "rs-b")
		for _, req := range order[min(3, len(order)):] {
			ok = ok && req == "rs-a"
		}
		if !ok {
			t.Errorf("reconciled %v, want urgent first, then rs-a and rs-b (initial list, low priority), then rs-a (once or twice) for the update", order)
		}
	})
}

// TestWatchRefusesNil checks that Watch refuses a nil controller, informer
// or mapper with ErrInvalid, instead of a binding that panics on every
// event.
func TestWatchRefusesNil(t *testing.T) {
	store, err := memstore.New[*Pod](memstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	inf, err := informer.New[*Pod](store, informer.Options[*Pod]{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	c, err := reconcile.New(reconcile.Func[reconcile.Request](func(context.Context, reconcile.Request) (reconcile.Result, error) {
		return reconcile.Result{}, nil
	}), reconcile.Options[reconcile.Request]{Name: "rs", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"nil mapper", watchErr(reconcile.Watch(c, inf, nil)), "reconcile: Watch: nil Mapper"},
		{"nil informer", watchErr(reconcile.Watch(c, nil, reconcile.ForObject[*Pod]())), "reconcile: Watch: nil Informer"},
		{"nil controller", watchErr(reconcile.Watch(nil, inf, reconcile.ForObject[*Pod]())), "reconcile: Watch: nil Controller"},
	}
	for _, tc := range cases {
		if !errors.Is(tc.err, controlloop.ErrInvalid) || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: Watch = %v, want ErrInvalid with %q", tc.name, tc.err, tc.want)
		}
	}
}

func watchErr(_ *informer.Registration[*Pod], err error) error { return err }

// rig is a Pod store and informer bound by Watch to a controller that
// records the requests it reconciles.
type rig struct {
	store *memstore.Store[*Pod]
	c     *reconcile.Controller[reconcile.Request]
	mu    sync.Mutex
	order []string
}

func newRig(t *testing.T, opts reconcile.Options[reconcile.Request], m reconcile.Mapper[*Pod, reconcile.Request], preds ...reconcile.Predicate[*Pod]) (*rig, *informer.Informer[*Pod]) {
	t.Helper()
	store, err := memstore.New[*Pod](memstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	inf, err := informer.New[*Pod](store, informer.Options[*Pod]{Logger: quiet, Reflector: reflector.Options{Logger: quiet}})
	if err != nil {
		t.Fatal(err)
	}
	g := &rig{store: store}
	opts.Name, opts.Logger = "rig", quiet
	g.c, err = reconcile.New(reconcile.Func[reconcile.Request](func(_ context.Context, req reconcile.Request) (reconcile.Result, error) {
		g.mu.Lock()
		g.order = append(g.order, req.Name)
		g.mu.Unlock()
		return reconcile.Result{}, nil
	}), opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reconcile.Watch(g.c, inf, m, preds...); err != nil {
		t.Fatal(err)
	}
	return g, inf
}

// run runs the rig's informer and controller under a Manager.
func (g *rig) run(inf *informer.Informer[*Pod]) (stop func() error) {
	m := new(reconcile.Manager)
	m.AddCache(inf)
	m.AddController(g.c)
	return run(m)
}

// take returns the requests reconciled since the last take.
func (g *rig) take() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	o := g.order
	g.order = nil
	return o
}

// TestWatchUpdateEnqueuesOldAndNewOwner moves a Pod from one owner to
// another: both owners are reconciled, the old one to let go of it.
func TestWatchUpdateEnqueuesOldAndNewOwner(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		g, inf := newRig(t, reconcile.Options[reconcile.Request]{}, reconcile.ForOwner[*Pod, *ReplicaSet](true))
		if _, err := g.store.Create(ctx, ownedPod("p", "rs-a", true)); err != nil {
			t.Fatal(err)
		}
		stop := g.run(inf)
		time.Sleep(time.Second)
		if got := g.take(); !slices.Equal(got, []string{"rs-a"}) {
			t.Fatalf("initial list reconciled %v, want [rs-a]", got)
		}
		p, _ := g.store.Get(ctx, controlloop.Key{Namespace: "ns", Name: "p"})
		p.OwnerReferences = ownedPod("p", "rs-b", true).OwnerReferences
		if _, err := g.store.Update(ctx, p); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		got := g.take()
		slices.Sort(got)
		if !slices.Equal(got, []string{"rs-a", "rs-b"}) {
			t.Fatalf("the owner change reconciled %v, want [rs-a rs-b]", got)
		}
	})
}

// TestWatchAppliesPredicates checks that Watch asks its predicates about
// each kind of notification: a predicate that holds back one kind stops
// exactly those notifications.
func TestWatchAppliesPredicates(t *testing.T) {
	no := func(*Pod) bool { return false }
	for _, tc := range []struct {
		name string
		pred reconcile.Predicate[*Pod]
		// whether the add, the update and the delete reconciled (an update
		// enqueues the old and the new object's requests: here the same
		// one, reconciled once or, if a worker took it in between, twice)
		want []bool
	}{
		{"none", reconcile.Predicate[*Pod]{}, []bool{true, true, true}},
		{"no adds", reconcile.Predicate[*Pod]{Add: no}, []bool{false, true, true}},
		{"no updates", reconcile.Predicate[*Pod]{Update: func(_, _ *Pod) bool { return false }}, []bool{true, false, true}},
		{"no deletes", reconcile.Predicate[*Pod]{Delete: no}, []bool{true, true, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				g, inf := newRig(t, reconcile.Options[reconcile.Request]{}, reconcile.ForObject[*Pod](), tc.pred)
				stop := g.run(inf)
				time.Sleep(time.Second)
				var got []bool
				p, err := g.store.Create(ctx, &Pod{ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: "p"}})
				if err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Second)
				got = append(got, len(g.take()) > 0)
				p.Phase = "Running"
				if _, err := g.store.Update(ctx, p); err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Second)
				got = append(got, len(g.take()) > 0)
				if err := g.store.Delete(ctx, controlloop.KeyOf(p), controlloop.DeleteOptions{}); err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Second)
				got = append(got, len(g.take()) > 0)
				if err := stop(); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, tc.want) {
					t.Fatalf("reconciles after add, update, delete: %v, want %v", got, tc.want)
				}
			})
		})
	}
}

// TestWatchLowPriorityOption sets Options.LowPriority above the default
// priority: the initial list now goes before a request added at 0.
func TestWatchLowPriorityOption(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		five := 5
		g, inf := newRig(t, reconcile.Options[reconcile.Request]{LowPriority: &five}, reconcile.ForObject[*Pod]())
		if _, err := g.store.Create(context.Background(), &Pod{ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: "listed"}}); err != nil {
			t.Fatal(err)
		}
		g.c.Queue().Add(reconcile.Request{Namespace: "ns", Name: "at-zero"})
		stop := g.run(inf)
		time.Sleep(time.Second)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if got := g.take(); !slices.Equal(got, []string{"listed", "at-zero"}) {
			t.Fatalf("reconciled %v, want the initial list (priority 5) before the request at 0", got)
		}
	})
}

// TestResyncIsLowPriority delivers a resync (an update that keeps the
// resource version) and a real update straight to Watch's handler: the
// resync goes in at the controller's low priority, behind a request at 0;
// the real update at 0, in arrival order.
func TestResyncIsLowPriority(t *testing.T) {
	c, err := reconcile.New(reconcile.Func[reconcile.Request](func(context.Context, reconcile.Request) (reconcile.Result, error) {
		return reconcile.Result{}, nil
	}), reconcile.Options[reconcile.Request]{Name: "rs", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	h := reconcile.NewBinding(c, reconcile.ForObject[*Pod]())
	pod := func(name, rv string) *Pod {
		return &Pod{ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: name, ResourceVersion: rv}}
	}
	h.OnUpdate(pod("resynced", "1"), pod("resynced", "1"))
	c.Queue().Add(reconcile.Request{Namespace: "ns", Name: "at-zero"})
	h.OnUpdate(pod("changed", "1"), pod("changed", "2"))
	var got []string
	for c.Queue().Len() > 0 {
		req, err := c.Queue().Get(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, req.Name)
		c.Queue().Done(req)
	}
	if want := []string{"at-zero", "changed", "resynced"}; !slices.Equal(got, want) {
		t.Fatalf("handed out %v, want %v", got, want)
	}
}

// TestBindingMapsWithoutAllocating checks that a notification through
// Watch's handler with ForObject allocates nothing once the key is queued
// (issue 14: ForObject allocated a slice per event, and an update two).
func TestBindingMapsWithoutAllocating(t *testing.T) {
	c, err := reconcile.New(reconcile.Func[reconcile.Request](func(context.Context, reconcile.Request) (reconcile.Result, error) {
		return reconcile.Result{}, nil
	}), reconcile.Options[reconcile.Request]{Name: "allocs"})
	if err != nil {
		t.Fatal(err)
	}
	h := reconcile.NewBinding(c, reconcile.ForObject[*Pod]())
	p1 := &Pod{ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: "a", ResourceVersion: "1"}}
	p2 := &Pod{ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: "a", ResourceVersion: "2"}}
	h.OnAdd(p1, false)
	for name, deliver := range map[string]func(){
		"add":    func() { h.OnAdd(p1, false) },
		"update": func() { h.OnUpdate(p1, p2) },
		"delete": func() { h.OnDelete(p2, false) },
	} {
		if n := testing.AllocsPerRun(100, deliver); n != 0 {
			t.Errorf("%s: %v allocations per notification, want 0", name, n)
		}
	}
}
