package reconcile_test

import (
	"context"
	"maps"
	"slices"
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

func ownedPod(name, owner string, controller bool) *Pod {
	return &Pod{ObjectMeta: controlloop.ObjectMeta{
		Namespace: "ns", Name: name,
		OwnerReferences: []controlloop.OwnerReference{{Kind: "ReplicaSet", Name: owner, Controller: controller}},
	}}
}

func TestForOwner(t *testing.T) {
	p := &Pod{ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: "p", OwnerReferences: []controlloop.OwnerReference{
		{Kind: "ReplicaSet", Name: "rs1", Controller: true},
		{Kind: "ReplicaSet", Name: "rs2"},
		{Kind: "Deployment", Name: "d"},
	}}}
	all := reconcile.ForOwner[*Pod]("ReplicaSet", false)(p)
	if want := []reconcile.Request{{Namespace: "ns", Name: "rs1"}, {Namespace: "ns", Name: "rs2"}}; !slices.Equal(all, want) {
		t.Errorf("ForOwner(any) = %v, want %v", all, want)
	}
	ctl := reconcile.ForOwner[*Pod]("ReplicaSet", true)(p)
	if want := []reconcile.Request{{Namespace: "ns", Name: "rs1"}}; !slices.Equal(ctl, want) {
		t.Errorf("ForOwner(controller only) = %v, want %v", ctl, want)
	}
	if got := reconcile.ForObject[*Pod]()(p); !slices.Equal(got, []reconcile.Request{{Namespace: "ns", Name: "p"}}) {
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
		if _, err := reconcile.Watch(c, inf, reconcile.ForOwner[*Pod]("ReplicaSet", true)); err != nil {
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
		if len(order) != 4 || order[0] != "urgent" || !slices.Contains(order[1:3], "rs-a") || !slices.Contains(order[1:3], "rs-b") || order[3] != "rs-a" {
			t.Errorf("reconciled %v, want urgent first, then rs-a and rs-b (initial list, low priority), then rs-a for the update", order)
		}
	})
}

// stepRunner records when it starts and stops.
type stepRunner struct {
	name string
	log  *[]string
	mu   *sync.Mutex
	hold time.Duration // keeps running this long after ctx ends
}

func (s stepRunner) Run(ctx context.Context) error {
	<-ctx.Done()
	time.Sleep(s.hold)
	s.mu.Lock()
	*s.log = append(*s.log, s.name+" stopped")
	s.mu.Unlock()
	return nil
}

func TestManagerStopsControllersBeforeCaches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var log []string
		var m reconcile.Manager
		m.AddCache(stepRunner{name: "cache", log: &log, mu: &mu})
		m.AddController(stepRunner{name: "controller", log: &log, mu: &mu, hold: 5 * time.Second})
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- m.Run(ctx) }()
		synctest.Wait()
		stop()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if want := []string{"controller stopped", "cache stopped"}; !slices.Equal(log, want) {
			t.Errorf("stop order %v, want %v", log, want)
		}
	})
}

type failingRunner struct{ err error }

func (f failingRunner) Run(context.Context) error { return f.err }

func TestManagerStopsAllWhenOneFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var log []string
		var m reconcile.Manager
		m.AddCache(stepRunner{name: "cache", log: &log, mu: &mu})
		m.AddController(failingRunner{err: reconcile.ErrCacheSyncTimeout})
		err := m.Run(context.Background())
		if err == nil || !slices.Equal(log, []string{"cache stopped"}) {
			t.Errorf("Run = %v with log %v; want the failure and the cache stopped", err, log)
		}
	})
}
