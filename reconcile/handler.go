package reconcile

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/workqueue"
)

// A Mapper turns an object an informer reports into the requests to
// reconcile: it appends them to reqs and returns the extended slice, as
// strconv's Append functions do, and must not keep reqs. Appending lets
// [Watch] map every notification into one reused buffer, so that mapping
// allocates nothing. Write your own to map in any other way (for example
// from a ConfigMap to every object that reads it).
type Mapper[T controlloop.Object, R comparable] func(obj T, reqs []R) []R

// ForObject maps an object to its own key.
func ForObject[T controlloop.Object]() Mapper[T, Request] {
	return func(obj T, reqs []Request) []Request { return append(reqs, controlloop.KeyOf(obj)) }
}

// ForOwner maps an object to the keys of its owners of type O (in the
// object's namespace): Watch(c, podInformer, ForOwner[*Pod, *ReplicaSet](true))
// enqueues the ReplicaSet that owns a changed Pod. An owner reference
// counts if its Kind is [controlloop.KindOf] O, as [controlloop.OwnerOf]
// writes it; with onlyController, only the reference marked Controller
// counts.
func ForOwner[T, O controlloop.Object](onlyController bool) Mapper[T, Request] {
	kind := controlloop.KindOf[O]()
	return func(obj T, reqs []Request) []Request {
		meta := obj.GetObjectMeta()
		for _, ref := range meta.OwnerReferences {
			if ref.Kind == kind && (ref.Controller || !onlyController) {
				reqs = append(reqs, Request{Namespace: meta.Namespace, Name: ref.Name})
			}
		}
		return reqs
	}
}

// Watch connects an informer to a controller: every change the informer
// reports and preds let through is mapped to requests on the controller's
// queue. An update enqueues what both the old and the new object map to, so
// that a change of owner reaches the old owner too, each request once (the
// old object's requests that the new one also maps to are not added
// again). Initial-list adds and
// resyncs are enqueued at the controller's low priority, so that real
// changes go first.
//
// Every cached object is resynced about once per Options.SyncPeriod, and
// every object a relist finds is delivered again (as a resync if it did
// not change), so that a relist acts as a resync; once the relist is
// done, the controller's other bindings resync too, so that a request that
// none of the listed objects maps to (a parent whose only child was
// created and deleted while the watch was down) is reconciled again. A
// notification whose Mapper or Predicate panics is not lost: the panic is
// recovered and logged, and the same notification is mapped again after a
// per-object backoff (5ms, doubling up to 1000s) until it maps without
// panicking or the controller's Run has returned.
//
// The controller will not start its workers before the informer has
// synced and delivered its initial list to this binding, each within its
// own deadline (Options.CacheSyncTimeout, Options.HandlerSyncTimeout). Watch returns the informer
// registration, whose Remove undoes it. A nil controller, informer or
// mapper is refused with an error wrapping [controlloop.ErrInvalid].
func Watch[T controlloop.Object, R comparable](c *Controller[R], inf *informer.Informer[T], m Mapper[T, R], preds ...Predicate[T]) (*informer.Registration[T], error) {
	var errs []error
	if c == nil {
		errs = append(errs, fmt.Errorf("reconcile: Watch: nil Controller: %w", controlloop.ErrInvalid))
	}
	if inf == nil {
		errs = append(errs, fmt.Errorf("reconcile: Watch: nil Informer: %w", controlloop.ErrInvalid))
	}
	if m == nil {
		errs = append(errs, fmt.Errorf("reconcile: Watch: nil Mapper: %w", controlloop.ErrInvalid))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	b := newBinding(c, m, preds)
	b.informer = inf.Name()
	reg, err := inf.AddHandler(b, informer.HandlerOptions{ResyncPeriod: c.syncPeriod(), ResyncOnRelist: true})
	if err != nil {
		return nil, fmt.Errorf("reconcile: Watch: %w", err)
	}
	c.WaitForSync(inf.HasSynced)
	c.addBindingProbe(bindingProbe{binding: b, informer: b.informer, cacheSynced: inf.HasSynced, progress: reg.InitialProgress, pending: reg.Pending, resync: reg.Resync})
	if v := inf.Versions(); v != nil { // fresh.go: gate on, and wait for, what it applies
		c.fresh.readFrom(&versionReader{name: inf.Name(), versions: v, scope: v.VersionScope(), kind: reflect.TypeFor[T](), applied: inf.AppliedVersion})
	}
	return reg, nil
}

// syncPeriod draws a binding's resync period: 0 (none) with NoSync, else
// uniformly from 90% to 100% of Options.SyncPeriod.
func (c *Controller[R]) syncPeriod() time.Duration {
	p := c.opts.SyncPeriod
	if p == NoSync {
		return 0
	}
	return p - rand.N(p/10+1)
}

// binding is the informer handler that Watch registers.
type binding[T controlloop.Object, R comparable] struct {
	c        *Controller[R]
	m        Mapper[T, R]
	pred     Predicate[T]
	informer string // its informer's name, for reasons

	// reqs is the buffer the Mapper appends to when the informer's
	// goroutine for this handler delivers a notification; retries, on
	// timer goroutines, use their own.
	reqs []R

	mu sync.Mutex // protects failed
	// failed holds the objects whose mapping panicked, while a retry of
	// them is scheduled or running.
	failed map[controlloop.Key]*failure[T]
}

// notification is one informer notification, kept as a value (not a
// closure) so that delivering it allocates nothing.
type notification[T controlloop.Object] struct {
	kind     notificationKind
	old, obj T // old only for updates
	initial  bool
	unknown  bool // a delete a relist inferred: final state unknown
	relist   bool // an update: an unchanged object a relist found
}

type notificationKind uint8

const (
	added notificationKind = iota
	updated
	deleted
)

// failure is an object's notifications whose mapping panicked, and how
// many retries in a row failed.
type failure[T controlloop.Object] struct {
	pending []notification[T]
	retries int
}

// Mapping retries back off per object from retryBase, doubling up to
// retryMax.
const (
	retryBase = 5 * time.Millisecond
	retryMax  = 1000 * time.Second
)

// delay returns the wait before the next retry of f.
func (f *failure[T]) delay() time.Duration {
	if f.retries >= 30 { // retryBase << 30 is past retryMax
		return retryMax
	}
	return min(retryBase<<f.retries, retryMax)
}

func newBinding[T controlloop.Object, R comparable](c *Controller[R], m Mapper[T, R], preds []Predicate[T]) *binding[T, R] {
	return &binding[T, R]{c: c, m: m, pred: And(preds...), failed: map[controlloop.Key]*failure[T]{}}
}

func (b *binding[T, R]) OnAdd(obj T, inInitialList bool) {
	b.deliver(notification[T]{kind: added, obj: obj, initial: inInitialList})
}

func (b *binding[T, R]) OnUpdate(old, new T) {
	b.deliver(notification[T]{kind: updated, old: old, obj: new})
}

// OnRelist is an unchanged object a relist found: an update, as a resync's,
// whose reason says relist.
func (b *binding[T, R]) OnRelist(obj T) {
	b.deliver(notification[T]{kind: updated, old: obj, obj: obj, relist: true})
}

func (b *binding[T, R]) OnDelete(obj T, finalStateUnknown bool) {
	b.deliver(notification[T]{kind: deleted, obj: obj, unknown: finalStateUnknown})
}

// OnRelistDone: the informer's cache holds the relist, whose objects came
// to this binding already. A change it missed may matter to a request that
// no listed object maps to, so every other binding of the controller
// resyncs: each of their objects is mapped again, at LowPriority.
func (b *binding[T, R]) OnRelistDone() { b.c.resyncBindingsBut(b) }

// resyncBindingsBut asks every Watch binding of c other than except for
// a resync.
func (c *Controller[R]) resyncBindingsBut(except any) {
	c.mu.Lock()
	probes := c.probes // appended to only: the prefix read here stays
	c.mu.Unlock()
	for _, p := range probes {
		if p.binding != except {
			p.resync()
		}
	}
}

// handle maps n through the predicates and the mapper, into *buf, and
// enqueues the requests; it may panic with the user's code. *buf keeps the
// grown buffer for the next call.
func (b *binding[T, R]) handle(n notification[T], buf *[]R) {
	reqs := (*buf)[:0]
	switch n.kind {
	case added:
		if b.pred.passAdd(n.obj) {
			reqs = b.m(n.obj, reqs)
			b.noteReasons(n, n.obj, reqs, false)
			b.enqueue(reqs, n.initial)
		}
	case updated:
		if b.pred.passUpdate(n.old, n.obj) {
			resync := n.old.GetResourceVersion() == n.obj.GetResourceVersion()
			reqs = b.m(n.obj, reqs)
			b.noteReasons(n, n.obj, reqs, resync)
			b.enqueue(reqs, resync)
			if !resync {
				now := len(reqs)
				reqs = b.m(n.old, reqs)
				b.noteReasons(n, n.old, reqs[now:], false)
				b.enqueueNew(reqs[now:], reqs[:now])
			}
		}
	case deleted:
		if b.pred.passDelete(n.obj) {
			reqs = b.m(n.obj, reqs)
			b.noteReasons(n, n.obj, reqs, false)
			b.enqueue(reqs, false)
		}
	}
	clear(reqs) // keep no request alive in the buffer
	*buf = reqs[:0]
}

// deliver handles n; if its mapping panics, n is kept to be handled again
// after its object's backoff.
func (b *binding[T, R]) deliver(n notification[T]) {
	key := controlloop.KeyOf(n.obj)
	if b.try(key, n, &b.reqs) {
		return
	}
	b.mu.Lock()
	f, scheduled := b.failed[key]
	if !scheduled {
		f = &failure[T]{}
		b.failed[key] = f
	}
	f.pending = append(f.pending, n)
	b.mu.Unlock()
	if !scheduled {
		b.schedule(key, f.delay())
	}
}

// try handles n, mapping into *buf, and reports whether it returned
// without panicking.
func (b *binding[T, R]) try(key controlloop.Key, n notification[T], buf *[]R) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			b.c.log.Error("mapping a notification panicked: retrying", "object", key, "panic", p, "stack", string(debug.Stack()))
		}
	}()
	b.handle(n, buf)
	return true
}

func (b *binding[T, R]) schedule(key controlloop.Key, d time.Duration) {
	time.AfterFunc(d, func() { b.retry(key) })
}

// retry handles key's failed notifications again, and schedules another
// retry for those that panic again and those that failed meanwhile. It
// gives up once the controller's queue has shut down.
func (b *binding[T, R]) retry(key controlloop.Key) {
	b.mu.Lock()
	f := b.failed[key] // stays in failed: a failure meanwhile schedules nothing
	if b.c.queue.ShuttingDown() {
		delete(b.failed, key)
		b.mu.Unlock()
		return
	}
	pending := f.pending
	f.pending = nil
	b.mu.Unlock()
	var again []notification[T]
	var buf []R
	for _, n := range pending {
		if !b.try(key, n, &buf) {
			again = append(again, n)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	f.pending = append(again, f.pending...)
	if len(f.pending) == 0 {
		delete(b.failed, key)
		return
	}
	f.retries++
	b.schedule(key, f.delay())
}

func (b *binding[T, R]) enqueue(reqs []R, low bool) {
	opts := workqueue.AddOptions{}
	if low {
		opts.Priority = b.c.LowPriority()
	}
	for _, r := range reqs {
		if b.c.admits(r) { // sharding: only requests this replica works on
			b.c.queue.AddWithOptions(r, opts)
		}
	}
}

// enqueueNew adds, at normal priority, the requests in reqs that are not in
// added: an update's old object usually maps to what its new one did, and
// adding those again would cost a second round trip on the queue's lock.
func (b *binding[T, R]) enqueueNew(reqs, added []R) {
	for _, r := range reqs {
		if !slices.Contains(added, r) && b.c.admits(r) { // admits: see enqueue
			b.c.queue.AddWithOptions(r, workqueue.AddOptions{})
		}
	}
}
