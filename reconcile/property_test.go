package reconcile_test

import (
	"context"
	"errors"
	"flag"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/reconcile"
	"github.com/controlloop/controlloop/reflector"
	"github.com/controlloop/controlloop/workqueue"
	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

// noPeriodicSync runs TestLevelTriggered with Options.SyncPeriod NoSync,
// to see it fail: the periodic sync is what heals a missed event.
var noPeriodicSync = flag.Bool("reconcile.nosync", false, "run TestLevelTriggered without the periodic sync (it should fail)")

// Parent wants Replicas children (Pods) named Name-0 .. Name-(Replicas-1).
type Parent struct {
	controlloop.ObjectMeta
	Replicas int
}

func (p *Parent) DeepCopy() *Parent {
	c := *p
	c.Labels = maps.Clone(p.Labels)
	c.OwnerReferences = slices.Clone(p.OwnerReferences)
	return &c
}

// TestLevelTriggered is the package's promise (issue 12, item 1), for a
// whole parent -> children controller on memstore: under random store
// faults on both sources (broken and failing watches, expired and compacted
// history, failing lists), reconcile errors and panics, Mapper panics and
// writes by someone else (children created and deleted behind the
// controller's back, parents created, rescaled and deleted), with no
// handler of the test's own, once the faults stop and a quiet minute and
// one sync period have passed,
//   - every parent has exactly its desired children, and no child outlives
//     its parent;
//   - no child was created twice by the controller without a delete in
//     between;
//   - no request was ever reconciled by two workers at once.
//
// CI runs it with 1000 schedules:
//
//	go test -run '^TestLevelTriggered$' -rapid.checks=1000 ./reconcile/
//
// With -reconcile.nosync it runs without the periodic sync, and fails.
func TestLevelTriggered(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		rapid.SyncTest(rt, checkLevelTriggered)
	})
}

// world is the controller under test and what it did.
type world struct {
	parents   *memstore.Store[*Parent]
	children  *memstore.Store[*Pod]
	parentsR  informer.Reader[*Parent]
	childrenR informer.Reader[*Pod]

	failReconciles  atomic.Int32 // the next this many reconciles fail
	panicReconciles atomic.Int32 // the next this many reconciles panic
	panicMappings   atomic.Int32 // the next this many child mappings panic

	mu       sync.Mutex // protects the fields below
	inFlight map[reconcile.Request]bool
	overlaps []string
	created  map[string]int // child name -> creates by the controller
	deleted  map[string]int // child name -> deletes by anyone
}

func (w *world) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	w.mu.Lock()
	if w.inFlight[req] {
		w.overlaps = append(w.overlaps, req.String())
	}
	w.inFlight[req] = true
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		delete(w.inFlight, req)
		w.mu.Unlock()
	}()
	if take(&w.panicReconciles) {
		panic("injected reconcile panic")
	}
	if take(&w.failReconciles) {
		return reconcile.Result{}, errors.New("injected reconcile error")
	}

	want := map[string]bool{}
	parent, err := w.parentsR.Get(req)
	if err == nil {
		for i := range parent.Replicas {
			want[childName(req.Name, i)] = true
		}
	}
	have := map[string]bool{}
	for key, child := range w.childrenR.List(controlloop.Selector{Namespace: req.Namespace}) {
		if ownerName(child) == req.Name {
			have[key.Name] = true
		}
	}
	var errs []error
	for name := range have {
		if !want[name] {
			errs = append(errs, w.deleteChild(ctx, controlloop.Key{Namespace: req.Namespace, Name: name}))
		}
	}
	for name := range want {
		if !have[name] {
			child := &Pod{ObjectMeta: controlloop.ObjectMeta{
				Namespace: req.Namespace, Name: name,
				OwnerReferences: []controlloop.OwnerReference{controlloop.OwnerOf(parent, true)},
			}}
			_, err := w.children.Create(ctx, child)
			if err == nil {
				w.mu.Lock()
				w.created[name]++
				w.mu.Unlock()
			}
			if errors.Is(err, controlloop.ErrAlreadyExists) {
				err = nil // the cache is behind: the child exists
			}
			errs = append(errs, err)
		}
	}
	return reconcile.Result{}, errors.Join(errs...)
}

// deleteChild deletes a child and counts it; a child already gone is no
// error.
func (w *world) deleteChild(ctx context.Context, key controlloop.Key) error {
	err := w.children.Delete(ctx, key, controlloop.DeleteOptions{})
	if err == nil {
		w.mu.Lock()
		w.deleted[key.Name]++
		w.mu.Unlock()
	}
	if errors.Is(err, controlloop.ErrNotFound) {
		return nil
	}
	return err
}

func (w *world) mapChild(child *Pod, reqs []reconcile.Request) []reconcile.Request {
	if take(&w.panicMappings) {
		panic("injected mapping panic")
	}
	return reconcile.ForOwner[*Pod, *Parent](true)(child, reqs)
}

// take decrements n if it is positive and reports whether it did.
func take(n *atomic.Int32) bool {
	for {
		v := n.Load()
		if v <= 0 {
			return false
		}
		if n.CompareAndSwap(v, v-1) {
			return true
		}
	}
}

func childName(parent string, i int) string { return parent + "-" + strconv.Itoa(i) }

func ownerName(child *Pod) string {
	for _, ref := range child.OwnerReferences {
		if ref.Controller {
			return ref.Name
		}
	}
	return ""
}

const levelSyncPeriod = time.Minute

// newLevelWorld builds the parent -> children controller over two faulty
// stores, and starts it under a Manager.
func newLevelWorld(t interface{ Fatal(...any) }, period time.Duration, workers int) (w *world, parents *memstore.Store[*Parent], children *memstore.Store[*Pod], stop func() error) {
	storeOpts := memstore.Options{HistorySize: 8, MaxWatchLag: 16} // lagging watches get cut off too
	parents, err := memstore.New[*Parent](storeOpts)
	if err != nil {
		t.Fatal(err)
	}
	children, err = memstore.New[*Pod](storeOpts)
	if err != nil {
		t.Fatal(err)
	}
	reflectorOpts := reflector.Options{
		Logger: quiet, PageSize: 3,
		InitialBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
	}
	parentInf, err := informer.New[*Parent](parents, informer.Options[*Parent]{Logger: quiet, Reflector: reflectorOpts})
	if err != nil {
		t.Fatal(err)
	}
	childInf, err := informer.New[*Pod](children, informer.Options[*Pod]{Logger: quiet, Reflector: reflectorOpts})
	if err != nil {
		t.Fatal(err)
	}
	w = &world{
		parents: parents, children: children,
		parentsR: parentInf.Reader(), childrenR: childInf.Reader(),
		inFlight: map[reconcile.Request]bool{}, created: map[string]int{}, deleted: map[string]int{},
	}
	limiter, err := workqueue.NewItemExponential[reconcile.Request](5*time.Millisecond, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c, err := reconcile.New[reconcile.Request](w, reconcile.Options[reconcile.Request]{
		Name: "parents", Logger: quiet, RateLimiter: limiter, SyncPeriod: period, Workers: workers,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reconcile.Watch(c, parentInf, reconcile.ForObject[*Parent]()); err != nil {
		t.Fatal(err)
	}
	if _, err := reconcile.Watch(c, childInf, w.mapChild); err != nil {
		t.Fatal(err)
	}
	m := new(reconcile.Manager)
	m.AddCache(parentInf)
	m.AddCache(childInf)
	m.AddController(c)
	return w, parents, children, run(m)
}

// childrenOf returns the names of parent's children in the store, sorted.
func childrenOf(children *memstore.Store[*Pod], parent string) []string {
	var names []string
	for key, child := range children.All() {
		if ownerName(child) == parent {
			names = append(names, key.Name)
		}
	}
	slices.Sort(names)
	return names
}

func checkLevelTriggered(t *rapid.T) {
	period := levelSyncPeriod
	if *noPeriodicSync {
		period = reconcile.NoSync
	}
	w, parents, children, stop := newLevelWorld(t, period, rapid.IntRange(1, 3).Draw(t, "workers"))
	ctx := context.Background()
	parentNames := rapid.SampledFrom([]string{"a", "b", "c"})
	replicas := rapid.IntRange(0, 3)
	for range rapid.IntRange(0, 2).Draw(t, "initial parents") {
		_, _ = parents.Create(ctx, &Parent{ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: parentNames.Draw(t, "parent")}, Replicas: replicas.Draw(t, "replicas")})
	}

	boom := errors.New("injected store failure")
	faults := func(s interface {
		BreakWatches()
		ExpireHistory()
		Compact(string) error
		ResourceVersion() string
		FailNextList(error)
		FailNextWatch(error)
		FailWatches(error)
	}) map[string]func(*rapid.T) {
		return map[string]func(*rapid.T){
			"breakWatches":  func(*rapid.T) { s.BreakWatches() },
			"expireHistory": func(*rapid.T) { s.ExpireHistory() },
			"compact":       func(*rapid.T) { _ = s.Compact(s.ResourceVersion()) },
			"failNextList":  func(*rapid.T) { s.FailNextList(boom) },
			"failNextWatch": func(*rapid.T) { s.FailNextWatch(boom) },
			"failWatches":   func(*rapid.T) { s.FailWatches(boom) },
			// The watch goes down for a backoff: the next steps, until one
			// lets time pass, happen while it is down.
			"outage": func(*rapid.T) { s.FailNextWatch(boom); s.BreakWatches() },
		}
	}
	actions := map[string]func(*rapid.T){
		"createParent": func(t *rapid.T) {
			_, _ = parents.Create(ctx, &Parent{ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: parentNames.Draw(t, "parent")}, Replicas: replicas.Draw(t, "replicas")})
		},
		"scaleParent": func(t *rapid.T) {
			if p, err := parents.Get(ctx, controlloop.Key{Namespace: "ns", Name: parentNames.Draw(t, "parent")}); err == nil {
				p.Replicas = replicas.Draw(t, "replicas")
				_, _ = parents.Update(ctx, p)
			}
		},
		"deleteParent": func(t *rapid.T) {
			_ = parents.Delete(ctx, controlloop.Key{Namespace: "ns", Name: parentNames.Draw(t, "parent")}, controlloop.DeleteOptions{})
		},
		// Someone else creates a child for a parent (maybe one it does not
		// want), or deletes one.
		"createChild": func(t *rapid.T) {
			owner := &Parent{ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: parentNames.Draw(t, "owner")}}
			_, _ = children.Create(ctx, &Pod{ObjectMeta: controlloop.ObjectMeta{
				Namespace: "ns", Name: childName(owner.Name, rapid.IntRange(0, 4).Draw(t, "index")),
				OwnerReferences: []controlloop.OwnerReference{controlloop.OwnerOf(owner, true)},
			}})
		},
		"deleteChild": func(t *rapid.T) {
			keys := slices.Collect(maps.Keys(maps.Collect(children.All())))
			if len(keys) == 0 {
				t.Skip("no child to delete")
			}
			slices.SortFunc(keys, func(a, b controlloop.Key) int { return strings.Compare(a.String(), b.String()) })
			_ = w.deleteChild(ctx, rapid.SampledFrom(keys).Draw(t, "child"))
		},
		"failReconciles":  func(t *rapid.T) { w.failReconciles.Store(int32(rapid.IntRange(1, 3).Draw(t, "n"))) },
		"panicReconciles": func(t *rapid.T) { w.panicReconciles.Store(int32(rapid.IntRange(1, 3).Draw(t, "n"))) },
		"panicMappings":   func(t *rapid.T) { w.panicMappings.Store(int32(rapid.IntRange(1, 3).Draw(t, "n"))) },
		// Let every goroutine run until it waits, without time passing: the
		// controller acts while a watch is still down.
		"settle": func(*rapid.T) { synctest.Wait() },
		"sleep": func(t *rapid.T) {
			time.Sleep(time.Duration(rapid.IntRange(1, 300).Draw(t, "ms")) * time.Millisecond)
		},
	}
	for name, f := range faults(parents) {
		actions["parents."+name] = f
	}
	for name, f := range faults(children) {
		actions["children."+name] = f
	}
	t.Repeat(actions)

	// The faults stop. A quiet minute lets every backoff run out and the
	// caches catch up; then one sync period (and a moment for its
	// reconciles) must heal whatever events were missed.
	parents.FailNextList(nil)
	parents.FailNextWatch(nil)
	children.FailNextList(nil)
	children.FailNextWatch(nil)
	w.failReconciles.Store(0)
	w.panicReconciles.Store(0)
	w.panicMappings.Store(0)
	time.Sleep(time.Minute + levelSyncPeriod + 5*time.Second)

	want := map[string][]string{} // parent -> its desired children
	for _, p := range parents.All() {
		want[p.Name] = []string{}
		for i := range p.Replicas {
			want[p.Name] = append(want[p.Name], childName(p.Name, i))
		}
	}
	got := map[string][]string{}
	for key, child := range children.All() {
		owner := ownerName(child)
		if _, ok := want[owner]; !ok {
			t.Fatalf("child %s outlived its parent %q", key, owner)
		}
		got[owner] = append(got[owner], key.Name)
	}
	for p := range want {
		if got[p] == nil {
			got[p] = []string{}
		}
		slices.Sort(got[p])
		slices.Sort(want[p])
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("children differ from the parents' wish (-want +got):\n%s", diff)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for name, n := range w.created {
		if n > w.deleted[name]+1 {
			t.Fatalf("child %s created %d times by the controller, deleted %d times", name, n, w.deleted[name])
		}
	}
	if len(w.overlaps) > 0 {
		t.Fatalf("reconciled by two workers at once: %s", strings.Join(w.overlaps, ", "))
	}
}
