package reconcile

import (
	"maps"

	"github.com/controlloop/controlloop"
)

// A Predicate decides which informer notifications reach a controller. A
// nil function lets its kind of notification through. Combine predicates
// with [And], [Or] and [Not].
type Predicate[T controlloop.Object] struct {
	Add    func(obj T) bool
	Update func(old, new T) bool
	Delete func(obj T) bool
}

func (p Predicate[T]) passAdd(obj T) bool { return p.Add == nil || p.Add(obj) }
func (p Predicate[T]) passUpdate(old, new T) bool {
	return p.Update == nil || p.Update(old, new)
}
func (p Predicate[T]) passDelete(obj T) bool { return p.Delete == nil || p.Delete(obj) }

// ResourceVersionChanged lets through updates that changed the object, and
// so drops resyncs. Adds and deletes pass.
func ResourceVersionChanged[T controlloop.Object]() Predicate[T] {
	return Predicate[T]{Update: func(old, new T) bool {
		return old.GetResourceVersion() != new.GetResourceVersion()
	}}
}

// GenerationChanged lets through updates that changed the desired state
// (Generation), and so drops status-only writes and resyncs. Adds and
// deletes pass.
func GenerationChanged[T controlloop.Object]() Predicate[T] {
	return Predicate[T]{Update: func(old, new T) bool {
		return old.GetObjectMeta().Generation != new.GetObjectMeta().Generation
	}}
}

// LabelsChanged lets through updates that changed the labels. Adds and
// deletes pass.
func LabelsChanged[T controlloop.Object]() Predicate[T] {
	return Predicate[T]{Update: func(old, new T) bool {
		return !maps.Equal(old.GetObjectMeta().Labels, new.GetObjectMeta().Labels)
	}}
}

// LabelSelector lets through notifications of objects whose labels match
// sel.Labels (its namespace is not consulted); an update passes if either
// version matches, so an object leaving the selection is seen too.
func LabelSelector[T controlloop.Object](sel controlloop.Selector) Predicate[T] {
	match := func(obj T) bool { return sel.MatchesLabels(obj.GetObjectMeta().Labels) }
	return Predicate[T]{
		Add:    match,
		Update: func(old, new T) bool { return match(old) || match(new) },
		Delete: match,
	}
}

// And lets through what every one of preds lets through; And() lets
// everything through.
func And[T controlloop.Object](preds ...Predicate[T]) Predicate[T] { return combine(preds, true) }

// Or lets through what any one of preds lets through; Or() lets nothing
// through.
func Or[T controlloop.Object](preds ...Predicate[T]) Predicate[T] { return combine(preds, false) }

// combine folds preds: with all, every one must pass; otherwise one must.
func combine[T controlloop.Object](preds []Predicate[T], all bool) Predicate[T] {
	verdict := func(pass func(Predicate[T]) bool) bool {
		for _, p := range preds {
			if pass(p) != all {
				return !all
			}
		}
		return all
	}
	return Predicate[T]{
		Add:    func(obj T) bool { return verdict(func(p Predicate[T]) bool { return p.passAdd(obj) }) },
		Update: func(old, new T) bool { return verdict(func(p Predicate[T]) bool { return p.passUpdate(old, new) }) },
		Delete: func(obj T) bool { return verdict(func(p Predicate[T]) bool { return p.passDelete(obj) }) },
	}
}

// Not lets through what p holds back, and the reverse.
func Not[T controlloop.Object](p Predicate[T]) Predicate[T] {
	return Predicate[T]{
		Add:    func(obj T) bool { return !p.passAdd(obj) },
		Update: func(old, new T) bool { return !p.passUpdate(old, new) },
		Delete: func(obj T) bool { return !p.passDelete(obj) },
	}
}
