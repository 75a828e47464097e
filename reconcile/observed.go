package reconcile

import (
	"context"
	"fmt"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/informer"
)

// This file holds the status.observedGeneration helpers (see the package
// doc, "Waiting until reconciled").

// A GenerationObserver is an object whose status records the generation
// of its desired state that its controller has acted on, as Kubernetes'
// status.observedGeneration does: Generation counts changes of desired
// state (stores increase it on Update, not on UpdateStatus), and
// ObservedGeneration says which of them the controller has seen.
type GenerationObserver interface {
	controlloop.Object
	ObservedGeneration() int64
}

// An ObservedGenerationSetter is a [GenerationObserver] that a controller
// can mark with [MarkObserved]: it sets its status' observed generation,
// and makes a private copy of itself (objects from a cache are shared).
type ObservedGenerationSetter[T any] interface {
	GenerationObserver
	SetObservedGeneration(generation int64)
	DeepCopy() T
}

// MarkObserved publishes that the controller has acted on obj's current
// generation, in one line: if obj's status does not say so yet, it writes
// a copy whose observed generation is obj's Generation, with
// UpdateStatus (which keeps Generation), and returns what the store
// returned; otherwise it writes nothing and returns obj. obj is not
// modified. A write that conflicts fails with the client's error wrapping
// [controlloop.ErrConflict]: the object changed, and its event brings
// another reconcile.
func MarkObserved[T ObservedGenerationSetter[T]](ctx context.Context, client controlloop.Client[T], obj T) (T, error) {
	if controlloop.IsNil(obj) {
		return obj, fmt.Errorf("reconcile: MarkObserved: nil object: %w", controlloop.ErrInvalid)
	}
	gen := obj.GetObjectMeta().Generation
	if obj.ObservedGeneration() == gen {
		return obj, nil
	}
	next := obj.DeepCopy()
	next.SetObservedGeneration(gen)
	return client.UpdateStatus(ctx, next)
}

// WaitObserved waits until inf's cache holds the object with key and its
// status shows generation (or a newer one) observed, and returns that
// object: "has the controller acted on my change?" for a writer that knows
// the Generation its Update returned. It checks each time the cache
// advances (see [informer.WaitUntil]), never on a timer, and returns ctx's
// error if ctx ends first.
func WaitObserved[T GenerationObserver](ctx context.Context, inf *informer.Informer[T], key controlloop.Key, generation int64) (T, error) {
	var got T
	err := informer.WaitUntil(ctx, func() bool {
		obj, err := inf.Reader().Get(key)
		if err != nil || obj.ObservedGeneration() < generation {
			return false
		}
		got = obj
		return true
	}, inf)
	return got, err
}
