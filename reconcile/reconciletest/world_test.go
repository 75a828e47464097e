package reconciletest_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/reconcile"
	"github.com/controlloop/controlloop/reconcile/reconciletest"
	"github.com/controlloop/controlloop/reflector"
	"github.com/controlloop/controlloop/workqueue"
	"pgregory.net/rapid"
)

// Parent wants Replicas children. Its status says how many it has.
type Parent struct {
	controlloop.ObjectMeta
	Replicas int
	Status   ParentStatus
}

type ParentStatus struct{ Children int }

func (p *Parent) DeepCopy() *Parent {
	c := *p
	c.Labels = maps.Clone(p.Labels)
	c.OwnerReferences = slices.Clone(p.OwnerReferences)
	return &c
}

// Child belongs to one Parent (its controller owner reference). Children
// get generated names, as a ReplicaSet's Pods do: only the owner reference
// ties a child to its parent.
type Child struct{ controlloop.ObjectMeta }

func (c *Child) DeepCopy() *Child {
	d := *c
	d.Labels = maps.Clone(c.Labels)
	d.OwnerReferences = slices.Clone(c.OwnerReferences)
	return &d
}

// bug is a mistake planted in the parent controller.
type bug int

const (
	correct bug = iota
	// forgetsDeletes: when its parent is gone, the controller leaves the
	// children behind.
	forgetsDeletes
	// staleCache: the controller runs with the stale-cache gating off, so
	// that the reconcile after its own create may not see the child.
	staleCache
	// retriesConflicts: when its status write conflicts, the controller
	// starts again at once within the same reconcile, re-reading the
	// parent but trusting the children's cache, which lacks the children
	// it has just created.
	retriesConflicts
)

// parents is the controller under test: a parent's children are created
// and deleted until there are Replicas of them, and its status counts
// them.
type parents struct {
	bug      bug
	parents  controlloop.Client[*Parent]
	children controlloop.Client[*Child]
	parentR  informer.Reader[*Parent]
	childR   informer.Reader[*Child]

	mu    sync.Mutex     // protects names
	names map[string]int // per parent: children named so far
}

// name generates a child's name: the parent's, and a count. Per parent,
// so that names do not depend on how two workers interleave.
func (r *parents) name(parent string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.names == nil {
		r.names = map[string]int{}
	}
	r.names[parent]++
	return fmt.Sprintf("%s-%d", parent, r.names[parent])
}

func (r *parents) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	parent, err := r.parentR.Get(req)
	if errors.Is(err, controlloop.ErrNotFound) {
		if r.bug == forgetsDeletes {
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, r.deleteAll(ctx, r.childrenOf(req, func(string) bool { return true }))
	}
	if err != nil {
		return reconcile.Result{}, err
	}
	for {
		var errs []error
		// Children of an earlier parent of the same name go.
		uid := parent.UID
		errs = append(errs, r.deleteAll(ctx, r.childrenOf(req, func(owner string) bool { return owner != uid })))
		mine := r.childrenOf(req, func(owner string) bool { return owner == uid })
		for n := len(mine); n < parent.Replicas; n++ {
			child := &Child{ObjectMeta: controlloop.ObjectMeta{
				Namespace: req.Namespace, Name: r.name(req.Name),
				OwnerReferences: []controlloop.OwnerReference{controlloop.OwnerOf(parent, true)},
			}}
			_, err := r.children.Create(ctx, child)
			errs = append(errs, err)
		}
		if len(mine) > parent.Replicas {
			errs = append(errs, r.deleteAll(ctx, mine[parent.Replicas:]))
		}
		if err := errors.Join(errs...); err != nil {
			return reconcile.Result{}, err
		}
		if parent.Status.Children == parent.Replicas {
			return reconcile.Result{}, nil
		}
		next := parent.DeepCopy()
		next.Status.Children = parent.Replicas
		_, err = r.parents.UpdateStatus(ctx, next)
		if r.bug == retriesConflicts && errors.Is(err, controlloop.ErrConflict) {
			if parent, err = r.parents.Get(ctx, req); err != nil {
				return reconcile.Result{}, err
			}
			continue
		}
		return reconcile.Result{}, err
	}
}

// childrenOf returns the cached children whose controller is named
// req.Name and has a uid that keep keeps, sorted.
func (r *parents) childrenOf(req reconcile.Request, keep func(uid string) bool) []controlloop.Key {
	var keys []controlloop.Key
	for key, child := range r.childR.List(controlloop.Selector{Namespace: req.Namespace}) {
		ref, ok := child.ControllerRef()
		if !ok || ref.Name != req.Name {
			continue
		}
		if keep(ref.UID) {
			keys = append(keys, key)
		}
	}
	slices.SortFunc(keys, func(a, b controlloop.Key) int { return strings.Compare(a.Name, b.Name) })
	return keys
}

func (r *parents) deleteAll(ctx context.Context, keys []controlloop.Key) error {
	var errs []error
	for _, k := range keys {
		if err := r.children.Delete(ctx, k, controlloop.DeleteOptions{}); err != nil && !errors.Is(err, controlloop.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// system is the parent controller in a World, with the World's stores.
type system struct {
	w        *reconciletest.World
	parents  *reconciletest.Store[*Parent]
	children *reconciletest.Store[*Child]
}

// newSystem builds the parent controller, with the bug planted and
// workers workers, over two new stores of w, and starts it.
func newSystem(t interface{ Fatal(...any) }, w *reconciletest.World, b bug, workers int) *system {
	storeOpts := memstore.Options{HistorySize: 16, MaxWatchLag: 32}
	s := &system{
		w:        w,
		parents:  reconciletest.NewStore[*Parent](w, "parents", storeOpts),
		children: reconciletest.NewStore[*Child](w, "children", storeOpts),
	}
	// Short backoffs: a cache catches up in well under the gating's
	// timeout after any outage, so that the correct controller never has
	// to act on a stale cache.
	refl := reflector.Options{Logger: w.Logger(), InitialBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}
	var factory informer.Factory
	parentInf, err := informer.Shared(&factory, s.parents.Client(), informer.Options[*Parent]{Logger: w.Logger(), Reflector: refl})
	if err != nil {
		t.Fatal(err)
	}
	childInf, err := informer.Shared(&factory, s.children.Client(), informer.Options[*Child]{Logger: w.Logger(), Reflector: refl})
	if err != nil {
		t.Fatal(err)
	}
	limiter, err := workqueue.NewItemExponential[reconcile.Request](5*time.Millisecond, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	opts := reconcile.Options[reconcile.Request]{
		Name: "parents", Workers: workers, Logger: w.Logger(), Tracer: w.Tracer(), RateLimiter: limiter,
		StaleCacheTimeout: time.Minute,
	}
	if b == staleCache {
		opts.StaleCacheTimeout = reconcile.NoStaleCacheGating
	}
	ctl, err := reconcile.New[reconcile.Request](&parents{
		bug:      b,
		parents:  reconcile.TrackWrites[*Parent](s.parents.Client()),
		children: reconcile.TrackWrites[*Child](s.children.Client()),
		parentR:  parentInf.Reader(), childR: childInf.Reader(),
	}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reconcile.Watch(ctl, parentInf, reconcile.ForObject[*Parent]()); err != nil {
		t.Fatal(err)
	}
	if _, err := reconcile.Watch(ctl, childInf, reconcile.ForOwner[*Child, *Parent](true)); err != nil {
		t.Fatal(err)
	}
	m := &reconcile.Manager{LeaderElector: w.Elector("replica-0")}
	m.AddCache(&factory)
	m.AddController(ctl)
	w.Start(m)
	return s
}

var parentNames = rapid.SampledFrom([]string{"a", "b", "c"})

// actions are what users do: create parents, scale them up, delete them,
// and delete children behind the controller's back. Parents never scale
// down, so that "no parent has more children than it wants" holds at
// every moment for a correct controller.
func actions() map[string]func(*rapid.T, *system) {
	ctx := context.Background()
	key := func(t *rapid.T) controlloop.Key {
		return controlloop.Key{Namespace: "ns", Name: parentNames.Draw(t, "parent")}
	}
	return map[string]func(*rapid.T, *system){
		"createParent": func(t *rapid.T, s *system) {
			_, _ = s.parents.Create(ctx, &Parent{ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: key(t).Name}, Replicas: rapid.IntRange(0, 3).Draw(t, "replicas")})
		},
		"scaleUp": func(t *rapid.T, s *system) {
			p, err := s.parents.Get(ctx, key(t))
			if err != nil {
				t.Skip("no such parent")
			}
			p.Replicas += rapid.IntRange(1, 2).Draw(t, "more")
			_, _ = s.parents.Update(ctx, p)
		},
		"deleteParent": func(t *rapid.T, s *system) {
			_ = s.parents.Delete(ctx, key(t), controlloop.DeleteOptions{})
		},
		"deleteChild": func(t *rapid.T, s *system) {
			keys := slices.SortedFunc(maps.Keys(maps.Collect(s.children.All())), func(a, b controlloop.Key) int { return strings.Compare(a.Name, b.Name) })
			if len(keys) == 0 {
				t.Skip("no child")
			}
			_ = s.children.Delete(ctx, rapid.SampledFrom(keys).Draw(t, "child"), controlloop.DeleteOptions{})
		},
	}
}

// children returns, per owner reference (parent name and uid), how many
// children the store holds.
func (s *system) childCounts() map[controlloop.OwnerReference]int {
	counts := map[controlloop.OwnerReference]int{}
	for _, c := range s.children.All() {
		ref, _ := c.ControllerRef()
		counts[controlloop.OwnerReference{Name: ref.Name, UID: ref.UID}]++
	}
	return counts
}

// neverTooMany is the Always invariant: no parent has more children than
// it wants.
func (s *system) neverTooMany() error {
	counts := s.childCounts()
	for _, p := range s.parents.All() {
		if n := counts[controlloop.OwnerReference{Name: p.Name, UID: p.UID}]; n > p.Replicas {
			return fmt.Errorf("parent %s has %d children, wants %d", p.Name, n, p.Replicas)
		}
	}
	return nil
}

// converged is the steady-state invariant: every parent has exactly the
// children it wants and says so in its status, and no child outlives its
// parent.
func (s *system) converged() error {
	counts := s.childCounts()
	var errs []error
	for _, p := range s.parents.All() {
		ref := controlloop.OwnerReference{Name: p.Name, UID: p.UID}
		if n := counts[ref]; n != p.Replicas || p.Status.Children != p.Replicas {
			errs = append(errs, fmt.Errorf("parent %s wants %d children, has %d, status says %d", p.Name, p.Replicas, n, p.Status.Children))
		}
		delete(counts, ref)
	}
	for ref, n := range counts {
		errs = append(errs, fmt.Errorf("%d children of %s (uid %s) outlived it", n, ref.Name, ref.UID))
	}
	return errors.Join(errs...)
}
