package controller

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/reconcile"
)

// OwnerIndex files each Pod under "namespace/name" of the ReplicaSet that
// controls it, so that a reconcile finds a ReplicaSet's Pods without a scan.
const OwnerIndex = "owner"

func indexByOwner(p *Pod) ([]string, error) {
	ref, ok := p.ControllerRef()
	if !ok || ref.Kind != controlloop.KindOf[*ReplicaSet]() {
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
//
// Deleting is decided on the store, not on the caches alone: the two
// caches are filled by separate watches with no order between them, so
// the Pods' cache can be ahead of the ReplicaSets' (a replica taking over
// sees the Pods its predecessor made for a ReplicaSet it has not seen yet,
// or not yet at its latest spec). Before deleting Pods, a reconcile reads
// the ReplicaSet from the store; if the cache lacks that version, it
// deletes nothing and waits for the cache's event, which brings the next
// reconcile.
type ReplicaSetReconciler struct {
	ReplicaSets controlloop.Client[*ReplicaSet]
	Pods        controlloop.Client[*Pod]
	RSReader    informer.Reader[*ReplicaSet]
	PodReader   informer.Reader[*Pod]
	Trace       *Tracer
}

// Reconcile implements [reconcile.Reconciler].
func (r *ReplicaSetReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	owned, err := r.PodReader.ByIndex(OwnerIndex, req.String())
	if err != nil {
		return reconcile.Result{}, reconcile.TerminalError(err)
	}
	pods := controlloop.Collect(owned)
	rs, err := r.RSReader.Get(req)
	if errors.Is(err, controlloop.ErrNotFound) {
		if len(pods) == 0 {
			return reconcile.Result{}, nil
		}
		// The ReplicaSet is gone, unless the cache has not seen it yet:
		// its Pods go too, as Kubernetes' garbage collector would see to.
		if behind, err := r.cacheBehind(ctx, req, nil); behind || err != nil {
			return reconcile.Result{}, err
		}
		r.Trace.Printf("reconcile ReplicaSet %s: deleted; removing its %d pods", req, len(pods))
		return reconcile.Result{}, r.deletePods(ctx, pods)
	}
	if err := Validate(rs); err != nil {
		// Written around admission: say so in the status, once, and wait
		// for the spec to change. Retrying could not help.
		r.Trace.Printf("reconcile ReplicaSet %s: invalid spec: %v", req, err)
		return reconcile.Result{}, r.updateStatus(ctx, rs, ReplicaSetStatus{ObservedGeneration: rs.Generation, Invalid: err.Error()})
	}

	pods, orphans := splitByOwner(pods, rs.UID)
	if len(orphans) > 0 {
		// Pods of an earlier ReplicaSet of this name, deleted and created
		// again before this controller saw it go: not this one's. They go,
		// as Kubernetes' garbage collector would see to, unless the cache
		// still shows the earlier ReplicaSet (then the Pods may be the new
		// one's).
		if behind, err := r.cacheBehind(ctx, req, rs); behind || err != nil {
			return reconcile.Result{}, err
		}
		r.Trace.Printf("reconcile ReplicaSet %s: removing %d pods of an earlier ReplicaSet of this name", req, len(orphans))
		if err := r.deletePods(ctx, orphans); err != nil {
			return reconcile.Result{}, err
		}
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
		if behind, err := r.cacheBehind(ctx, req, rs); behind || err != nil {
			return reconcile.Result{}, err
		}
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
				Namespace:       rs.Namespace,
				Name:            rs.Name + "-" + strconv.Itoa(i),
				Labels:          copyMeta(controlloop.ObjectMeta{Labels: rs.Spec.Template.Labels}).Labels,
				OwnerReferences: []controlloop.OwnerReference{controlloop.OwnerOf(rs, true)},
			},
			Image:   rs.Spec.Template.Image,
			Created: time.Now(),
			Phase:   Pending,
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

// splitByOwner splits pods, filed under a ReplicaSet's name, into those
// of the ReplicaSet with uid and those of another one of that name.
func splitByOwner(pods []*Pod, uid string) (own, others []*Pod) {
	for _, p := range pods {
		if ref, _ := p.ControllerRef(); ref.UID == uid {
			own = append(own, p)
		} else {
			others = append(others, p)
		}
	}
	return own, others
}

// cacheBehind reads the ReplicaSet key from the store and reports whether
// the cache lags behind it: it shows cached (nil: none) but the store holds
// another version, or none. A delete decided on such a cache could undo
// what the store's version asks for.
func (r *ReplicaSetReconciler) cacheBehind(ctx context.Context, key reconcile.Request, cached *ReplicaSet) (bool, error) {
	stored, err := r.ReplicaSets.Get(ctx, key)
	switch {
	case errors.Is(err, controlloop.ErrNotFound):
		if cached == nil {
			return false, nil
		}
		r.Trace.Printf("reconcile ReplicaSet %s: the cache is behind (the store has deleted it): waiting for it", key)
		return true, nil
	case err != nil:
		return false, fmt.Errorf("read ReplicaSet %s: %w", key, err)
	case cached == nil:
		r.Trace.Printf("reconcile ReplicaSet %s: the cache is behind (it lacks the ReplicaSet): waiting for it", key)
		return true, nil
	case stored.ResourceVersion != cached.ResourceVersion:
		r.Trace.Printf("reconcile ReplicaSet %s: the cache is behind (version %s, the store's %s): waiting for it", key, cached.ResourceVersion, stored.ResourceVersion)
		return true, nil
	}
	return false, nil
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

// updateStatus writes status if it differs from what rs shows
// ([WriteStatus]).
func (r *ReplicaSetReconciler) updateStatus(ctx context.Context, rs *ReplicaSet, status ReplicaSetStatus) error {
	return WriteStatus(ctx, r.ReplicaSets, rs, status, status.ObservedGeneration, func(rs *ReplicaSet) *ReplicaSetStatus { return &rs.Status })
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
