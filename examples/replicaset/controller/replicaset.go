package controller

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/reconcile"
)

// OwnerIndex files each Pod under "namespace/name" of the ReplicaSet that
// controls it, so that a reconcile finds a ReplicaSet's Pods without a scan.
const OwnerIndex = "owner"

func indexByOwner(p *Pod) ([]string, error) {
	ref, ok := p.ControllerRef()
	if !ok || ref.Kind != "ReplicaSet" {
		return nil, nil
	}
	return []string{p.Namespace + "/" + ref.Name}, nil
}

// ReplicaSetReconciler makes the Pods of a ReplicaSet match its spec, and
// reports what it sees in the ReplicaSet's status.
//
// It reads from the caches and writes through the clients. Pod names are
// the ReplicaSet's name and an index ("web-0", "web-1", ...), the lowest
// free ones first: a reconcile that acts on a cache which has not yet seen
// its own earlier creates picks the same names again, and the store refuses
// the duplicates, so no Pod is ever created twice.
type ReplicaSetReconciler struct {
	ReplicaSets controlloop.Client[*ReplicaSet]
	Pods        controlloop.Client[*Pod]
	RSLister    informer.Lister[*ReplicaSet]
	PodLister   informer.Lister[*Pod]
	Trace       *Tracer
}

// Reconcile implements [reconcile.Reconciler].
func (r *ReplicaSetReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	pods, err := r.PodLister.ByIndex(OwnerIndex, req.String())
	if err != nil {
		return reconcile.Result{}, reconcile.TerminalError(err)
	}
	rs, err := r.RSLister.Get(req)
	if errors.Is(err, controlloop.ErrNotFound) {
		// The ReplicaSet is gone: its Pods go too, as Kubernetes' garbage
		// collector would see to.
		if len(pods) > 0 {
			r.Trace.Printf("reconcile ReplicaSet %s: deleted; removing its %d pods", req, len(pods))
		}
		return reconcile.Result{}, r.deletePods(ctx, pods)
	}
	if err := Validate(rs); err != nil {
		// Written around admission: say so in the status, once, and wait
		// for the spec to change. Retrying could not help.
		r.Trace.Printf("reconcile ReplicaSet %s: invalid spec: %v", req, err)
		return reconcile.Result{}, r.updateStatus(ctx, rs, ReplicaSetStatus{ObservedGeneration: rs.Generation, Invalid: err.Error()})
	}

	want := *rs.Spec.Replicas
	slices.SortFunc(pods, func(a, b *Pod) int { return cmp.Compare(podIndex(a.Name), podIndex(b.Name)) })
	ready := 0
	for _, p := range pods {
		if p.Phase == Running {
			ready++
		}
	}
	switch {
	case len(pods) < want:
		r.Trace.Printf("reconcile ReplicaSet %s: want %d, have %d: create %d", req, want, len(pods), want-len(pods))
		err = r.createPods(ctx, rs, pods, want-len(pods))
	case len(pods) > want:
		surplus := pods[want:] // the highest indexes go first
		r.Trace.Printf("reconcile ReplicaSet %s: want %d, have %d: delete %s", req, want, len(pods), names(surplus))
		err = r.deletePods(ctx, surplus)
	default:
		r.Trace.Printf("reconcile ReplicaSet %s: want %d, have %d (%d ready): nothing to do", req, want, len(pods), ready)
	}
	if err != nil {
		return reconcile.Result{}, err
	}
	return reconcile.Result{}, r.updateStatus(ctx, rs, ReplicaSetStatus{
		Replicas: len(pods), ReadyReplicas: ready, ObservedGeneration: rs.Generation,
	})
}

func (r *ReplicaSetReconciler) createPods(ctx context.Context, rs *ReplicaSet, existing []*Pod, n int) error {
	taken := make(map[int]bool, len(existing))
	for _, p := range existing {
		taken[podIndex(p.Name)] = true
	}
	for i := 0; n > 0; i++ {
		if taken[i] {
			continue
		}
		n--
		pod := &Pod{
			ObjectMeta: controlloop.ObjectMeta{
				Namespace: rs.Namespace,
				Name:      rs.Name + "-" + strconv.Itoa(i),
				Labels:    copyMeta(controlloop.ObjectMeta{Labels: rs.Spec.Template.Labels}).Labels,
				OwnerReferences: []controlloop.OwnerReference{
					{Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID, Controller: true},
				},
			},
			Image: rs.Spec.Template.Image,
			Phase: Pending,
		}
		_, err := r.Pods.Create(ctx, pod)
		switch {
		case errors.Is(err, controlloop.ErrAlreadyExists):
			// Created by an earlier reconcile; the cache has not caught up.
		case err != nil:
			return fmt.Errorf("create pod %s: %w", controlloop.KeyOf(pod), err)
		}
	}
	return nil
}

func (r *ReplicaSetReconciler) deletePods(ctx context.Context, pods []*Pod) error {
	for _, p := range pods {
		err := r.Pods.Delete(ctx, controlloop.KeyOf(p), controlloop.DeleteOptions{})
		if err != nil && !errors.Is(err, controlloop.ErrNotFound) {
			return fmt.Errorf("delete pod %s: %w", controlloop.KeyOf(p), err)
		}
	}
	return nil
}

// updateStatus writes status if it differs from what rs shows. On a
// conflict it reads the ReplicaSet again from the store and retries on the
// fresh copy, rather than overwriting a change it has not seen.
func (r *ReplicaSetReconciler) updateStatus(ctx context.Context, rs *ReplicaSet, status ReplicaSetStatus) error {
	if rs.Status == status {
		return nil
	}
	const attempts = 5
	for range attempts {
		next := rs.DeepCopy()
		next.Status = status
		_, err := r.ReplicaSets.UpdateStatus(ctx, next)
		if !errors.Is(err, controlloop.ErrConflict) {
			return err
		}
		if rs, err = r.ReplicaSets.Get(ctx, controlloop.KeyOf(rs)); err != nil {
			return err
		}
		if rs.Generation != status.ObservedGeneration {
			return nil // the spec moved on: the update's event brings a new reconcile
		}
	}
	return fmt.Errorf("status of %s: still conflicting after %d attempts: %w", controlloop.KeyOf(rs), attempts, controlloop.ErrConflict)
}

// podIndex returns the index at the end of a Pod's name, or -1.
func podIndex(name string) int {
	i := strings.LastIndexByte(name, '-')
	n, err := strconv.Atoi(name[i+1:])
	if err != nil {
		return -1
	}
	return n
}

func names(pods []*Pod) string {
	s := make([]string, len(pods))
	for i, p := range pods {
		s[i] = p.Name
	}
	return strings.Join(s, ", ")
}
