package reconcile

import (
	"context"
	"sync"

	"github.com/controlloop/controlloop"
)

// Trigger is what made a request run: the kind of a [Reason].
type Trigger uint8

// The triggers of a reconcile.
const (
	// TriggerDirect: the request was added to the queue directly (through
	// [Controller.Queue]), not by a binding nor by the controller.
	TriggerDirect Trigger = iota
	// TriggerEvent: an informer notification, mapped by a [Watch] binding.
	TriggerEvent
	// TriggerRetry: the last reconcile failed, and this is its retry.
	TriggerRetry
	// TriggerRequeueAfter: the last reconcile returned a RequeueAfter.
	TriggerRequeueAfter
)

// String returns "direct", "event", "retry" or "requeue_after".
func (t Trigger) String() string {
	switch t {
	case TriggerDirect:
		return "direct"
	case TriggerEvent:
		return "event"
	case TriggerRetry:
		return "retry"
	case TriggerRequeueAfter:
		return "requeue_after"
	}
	return "unknown"
}

// Reason says why a request ran: the first trigger since its last
// reconcile started. Later triggers before it runs are merged into that
// run, as the queue merges the adds.
type Reason struct {
	Trigger Trigger
	// For TriggerEvent: the informer's name ([informer.Informer.Name]),
	// the event ("add", "update" or "delete"), where it came from ("" for
	// a watch event, "initial_list", "resync", or "relist": an unchanged
	// object a relist found, or a delete a relist inferred), and the
	// mapping ("object": the object's own key, "owner": an owner reference
	// of the object, "mapped": any other).
	Informer, Event, Origin, Mapping string
}

// Label returns the reason's value of the reason label of the counter of
// reconciles by reason: the trigger, or for an event its origin if it has
// one, else its event ("add", "update", "delete", "initial_list",
// "resync", "relist", "retry", "requeue_after", "direct"). A handful of
// values, so that the series stay few.
func (r Reason) Label() string {
	switch {
	case r.Trigger != TriggerEvent:
		return r.Trigger.String()
	case r.Origin != "":
		return r.Origin
	}
	return r.Event
}

// String spells the reason out for logs and pages, as
// "event update from Pod via owner" or "retry".
func (r Reason) String() string {
	if r.Trigger != TriggerEvent {
		return r.Trigger.String()
	}
	s := "event " + r.Event
	if r.Origin != "" {
		s += " (" + r.Origin + ")"
	}
	return s + " from " + r.Informer + " via " + r.Mapping
}

// ReasonMetrics, if the [ControllerMetrics] of a controller with
// Options.Introspect implements it, counts the reconciles by [Reason.Label].
type ReasonMetrics interface {
	ReconcileReason(label string)
}

// reasons is the side table of why each queued request was enqueued: the
// queue's item stays the bare request. A request's first trigger since its
// reconcile started is kept; take removes it when the reconcile starts. It
// holds at most one entry per request the queue holds, plus those that a
// shutdown dropped from the queue (the table is dropped with the
// controller).
type reasons[R comparable] struct {
	mu    sync.Mutex // protects first
	first map[R]Reason
}

// note records r for req unless a reason is already on record.
func (t *reasons[R]) note(req R, r Reason) {
	t.mu.Lock()
	if _, ok := t.first[req]; !ok {
		t.first[req] = r
	}
	t.mu.Unlock()
}

// take removes and returns req's reason; a request with none on record was
// added directly.
func (t *reasons[R]) take(req R) Reason {
	t.mu.Lock()
	r, ok := t.first[req]
	if ok {
		delete(t.first, req)
	}
	t.mu.Unlock()
	if !ok {
		return Reason{Trigger: TriggerDirect}
	}
	return r
}

// mappingOf names how req came from obj: "object" when req is obj's key,
// "owner" when it names one of obj's owners, "mapped" otherwise.
func mappingOf[R comparable](obj controlloop.Object, req R) string {
	key, ok := any(&req).(*controlloop.Key) // a pointer: no boxing
	if !ok {
		return "mapped"
	}
	meta := obj.GetObjectMeta()
	if key.Namespace == meta.Namespace && key.Name == meta.Name {
		return "object"
	}
	for _, ref := range meta.OwnerReferences {
		if key.Namespace == meta.Namespace && ref.Name == key.Name {
			return "owner"
		}
	}
	return "mapped"
}

// ReasonOf returns why the reconcile that ctx belongs to ran, and false
// outside a reconcile or when its controller has no Options.Introspect.
func ReasonOf(ctx context.Context) (Reason, bool) {
	if info, ok := ctx.Value(reconcileInfoKey{}).(reconcileInfo); ok {
		return info.reason()
	}
	return Reason{}, false
}

// noteReasons records n as the reason of reqs, which obj (n's object, or
// an update's old one) mapped to, if the controller keeps reasons; resync
// marks an update at an unchanged version.
func (b *binding[T, R]) noteReasons(n notification[T], obj T, reqs []R, resync bool) {
	if b.c.intro == nil {
		return
	}
	r := Reason{Trigger: TriggerEvent, Informer: b.informer}
	switch n.kind {
	case added:
		r.Event = "add"
		if n.initial {
			r.Origin = "initial_list"
		}
	case updated:
		r.Event = "update"
		switch {
		case n.relist:
			r.Origin = "relist"
		case resync:
			r.Origin = "resync"
		}
	case deleted:
		r.Event = "delete"
		if n.unknown {
			r.Origin = "relist"
		}
	}
	for _, req := range reqs {
		if !b.c.admits(req) { // not queued here: no reconcile would take it
			continue
		}
		r.Mapping = mappingOf(obj, req)
		b.c.noteReason(req, r)
	}
}
