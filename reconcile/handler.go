package reconcile

import (
	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/workqueue"
)

// A Mapper turns an object an informer reports into the requests to
// reconcile. Write your own to map in any other way (for example from a
// ConfigMap to every object that reads it).
type Mapper[T controlloop.Object, R comparable] func(obj T) []R

// ForObject maps an object to its own key.
func ForObject[T controlloop.Object]() Mapper[T, Request] {
	return func(obj T) []Request { return []Request{controlloop.KeyOf(obj)} }
}

// ForOwner maps an object to the keys of its owners of the given kind (in
// the object's namespace): Pod events, say, enqueue the ReplicaSet that owns
// the Pod. With onlyController, only the owner reference marked Controller
// counts.
func ForOwner[T controlloop.Object](kind string, onlyController bool) Mapper[T, Request] {
	return func(obj T) []Request {
		meta := obj.GetObjectMeta()
		var reqs []Request
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
// that a change of owner reaches the old owner too. Initial-list adds and
// resyncs are enqueued at the controller's low priority, so that real
// changes go first.
//
// The controller will not start its workers before the informer has
// delivered its initial list to this binding. Watch returns the informer
// registration, whose Remove undoes it.
func Watch[T controlloop.Object, R comparable](c *Controller[R], inf *informer.Informer[T], m Mapper[T, R], preds ...Predicate[T]) (*informer.Registration[T], error) {
	reg, err := inf.AddHandler(&binding[T, R]{c: c, m: m, pred: And(preds...)}, informer.HandlerOptions{})
	if err != nil {
		return nil, err
	}
	c.WaitForSync(reg.HasSynced)
	return reg, nil
}

// binding is the informer handler that Watch registers.
type binding[T controlloop.Object, R comparable] struct {
	c    *Controller[R]
	m    Mapper[T, R]
	pred Predicate[T]
}

func (b *binding[T, R]) OnAdd(obj T, inInitialList bool) {
	if b.pred.passAdd(obj) {
		b.enqueue(b.m(obj), inInitialList)
	}
}

func (b *binding[T, R]) OnUpdate(old, new T) {
	if b.pred.passUpdate(old, new) {
		resync := old.GetResourceVersion() == new.GetResourceVersion()
		b.enqueue(b.m(new), resync)
		if !resync {
			b.enqueue(b.m(old), false)
		}
	}
}

func (b *binding[T, R]) OnDelete(obj T, _ bool) {
	if b.pred.passDelete(obj) {
		b.enqueue(b.m(obj), false)
	}
}

func (b *binding[T, R]) enqueue(reqs []R, low bool) {
	opts := workqueue.AddOptions{}
	if low {
		opts.Priority = b.c.LowPriority()
	}
	for _, r := range reqs {
		b.c.queue.AddWithOptions(r, opts)
	}
}
