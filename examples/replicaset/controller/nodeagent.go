package controller

import (
	"context"
	"errors"

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
}

// Reconcile implements [reconcile.Reconciler].
func (a *NodeAgent) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	pod, err := a.PodReader.Get(req)
	if errors.Is(err, controlloop.ErrNotFound) || err == nil && pod.Phase != Pending {
		return reconcile.Result{}, nil
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
