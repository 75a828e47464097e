package controller

import (
	"context"
	"errors"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/reconcile"
)

// NodeAgent plays the kubelet: it starts every Pending Pod, moving it to
// Running, so that ReplicaSets can report ready replicas.
type NodeAgent struct {
	Pods      controlloop.Client[*Pod]
	PodReader informer.Reader[*Pod]
	Trace     *Tracer
	// ReadyDelay is how long a Pod takes to start, from its Created time
	// (as an image pull and a readiness probe would). Defaults to 0: at
	// once.
	ReadyDelay time.Duration
}

// Reconcile implements [reconcile.Reconciler].
func (a *NodeAgent) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	pod, err := a.PodReader.Get(req)
	if errors.Is(err, controlloop.ErrNotFound) || err == nil && pod.Phase != Pending {
		return reconcile.Result{}, nil
	}
	if wait := a.ReadyDelay - time.Since(pod.Created); wait > 0 {
		return reconcile.Result{RequeueAfter: wait}, nil
	}
	started := pod.DeepCopy()
	started.Phase = Running
	if _, err := a.Pods.UpdateStatus(ctx, started); err != nil {
		// A conflict means the Pod changed since the cache saw it: its
		// event brings another reconcile, and the retry reads it afresh.
		return reconcile.Result{}, err
	}
	a.Trace.Printf("node agent: started pod %s", req)
	return reconcile.Result{}, nil
}
