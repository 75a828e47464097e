package controller

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/examples/replicaset/controller"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/reconcile"
)

// DeploymentReconciler rolls each Deployment's Pods to its template, one
// ReplicaSet per template: it creates the current template's ReplicaSet,
// grows it and shrinks the old ones within the Deployment's maxSurge and
// maxUnavailable, deletes old ReplicaSets beyond its revision history
// limit, and reports what it sees in the Deployment's status. The
// ReplicaSets' own controller creates and deletes the Pods.
//
// Each reconcile takes the next step of the rollout (see the package doc,
// "Rollout"), decided on the caches; before it writes, it checks on the
// store that the cache of ReplicaSets is not behind (a step decided on a
// stale ReplicaSet could break the bounds), and if it is, waits for the
// cache's event.
//
// A ReplicaSet named for the current template's hash whose template is
// another (two templates with one hash) is reported in the status and
// left alone.
type DeploymentReconciler struct {
	Deployments      controlloop.Client[*Deployment]
	ReplicaSets      controlloop.Client[*controller.ReplicaSet]
	DeploymentReader informer.Reader[*Deployment]
	RSReader         informer.Reader[*controller.ReplicaSet]
	Trace            *controller.Tracer
}

// Reconcile implements [reconcile.Reconciler].
func (r *DeploymentReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	d, err := r.DeploymentReader.Get(req)
	if errors.Is(err, controlloop.ErrNotFound) {
		return reconcile.Result{}, r.collect(ctx, req, "")
	}
	if err := r.collect(ctx, req, d.UID); err != nil {
		return reconcile.Result{}, err
	}
	hash := TemplateHash(d.Spec.Template)
	owned := r.owned(d)
	// An invalid Deployment's Pods run on, untouched: its status keeps
	// counting them.
	invalid := func(msg string) error {
		s := observe(d, hash, owned)
		s.Invalid = msg
		return r.updateStatus(ctx, d, s)
	}
	if err := Validate(d); err != nil {
		r.Trace.Printf("reconcile Deployment %s: invalid spec: %v", req, err)
		return reconcile.Result{}, invalid(err.Error())
	}
	for _, rs := range owned {
		if rs.Spec.Template.Labels[HashLabel] == hash && !sameTemplate(rs.Spec.Template, d.Spec.Template) {
			r.Trace.Printf("reconcile Deployment %s: template hash collision with ReplicaSet %s", req, rs.Name)
			return reconcile.Result{}, invalid(fmt.Sprintf("ReplicaSet %s has the hash %s of another template %+v", rs.Name, hash, rs.Spec.Template))
		}
	}
	p := nextStep(d, hash, owned)
	switch {
	case p.waitFor != nil:
		r.Trace.Printf("reconcile Deployment %s: waiting for ReplicaSet %s to settle", req, p.waitFor.Name)
	case p.empty():
		r.Trace.Printf("reconcile Deployment %s: nothing to do", req)
	default:
		if behind, err := r.cacheBehind(ctx, d, owned); behind || err != nil {
			return reconcile.Result{}, err
		}
		if err := r.apply(ctx, req, p); err != nil {
			return reconcile.Result{}, err
		}
	}
	return reconcile.Result{}, r.updateStatus(ctx, d, observe(d, hash, owned))
}

// owned returns d's ReplicaSets in the cache (ownedBy).
func (r *DeploymentReconciler) owned(d *Deployment) []*controller.ReplicaSet {
	var owned []*controller.ReplicaSet
	for _, rs := range r.RSReader.List(controlloop.Selector{Namespace: d.Namespace}) {
		if ownedBy(rs, d) {
			owned = append(owned, rs)
		}
	}
	return owned
}

// ownedBy reports whether rs is one of d's ReplicaSets: in its namespace
// (the caller lists only that one), with d as its controller, by UID, so
// not a former Deployment of the same name. Not by d's selector: an old
// ReplicaSet keeps the labels of its template, which need not match a
// changed selector.
func ownedBy(rs *controller.ReplicaSet, d *Deployment) bool {
	ref, ok := rs.ControllerRef()
	return ok && ref.Kind == controlloop.KindOf[*Deployment]() && ref.UID == d.UID
}

func (r *DeploymentReconciler) apply(ctx context.Context, req reconcile.Request, p plan) error {
	if p.create != nil {
		r.Trace.Printf("reconcile Deployment %s: create ReplicaSet %s with %d replicas", req, p.create.Name, *p.create.Spec.Replicas)
		if _, err := r.ReplicaSets.Create(ctx, p.create); err != nil {
			return fmt.Errorf("create ReplicaSet %s: %w", p.create.Name, err)
		}
	}
	for _, rs := range p.update {
		r.Trace.Printf("reconcile Deployment %s: scale ReplicaSet %s to %d (revision %d)", req, rs.Name, *rs.Spec.Replicas, revision(rs))
		// A conflict means the cache was stale after all: the retry
		// decides again on the ReplicaSet's newer version.
		if _, err := r.ReplicaSets.Update(ctx, rs); err != nil {
			return fmt.Errorf("scale ReplicaSet %s: %w", rs.Name, err)
		}
	}
	for _, rs := range p.remove {
		r.Trace.Printf("reconcile Deployment %s: delete ReplicaSet %s, beyond the revision history", req, rs.Name)
		err := r.ReplicaSets.Delete(ctx, controlloop.KeyOf(rs), controlloop.DeleteOptions{ResourceVersion: rs.ResourceVersion})
		if err != nil && !errors.Is(err, controlloop.ErrNotFound) {
			return fmt.Errorf("delete ReplicaSet %s: %w", rs.Name, err)
		}
	}
	return nil
}

// cacheBehind reports whether the store holds other versions of d's
// ReplicaSets than the cache (owned), or other ReplicaSets of d. It picks
// them from the store as owned picks them from the cache (ownedBy): had it
// listed by d's selector, a ReplicaSet whose labels do not match it (after
// the selector changed) would be in the cache only, and the cache behind
// for ever.
func (r *DeploymentReconciler) cacheBehind(ctx context.Context, d *Deployment, owned []*controller.ReplicaSet) (bool, error) {
	list, err := r.ReplicaSets.List(ctx, controlloop.ListOptions{Selector: controlloop.Selector{Namespace: d.Namespace}})
	if err != nil {
		return false, fmt.Errorf("list ReplicaSets of %s: %w", controlloop.KeyOf(d), err)
	}
	cached := make(map[string]string, len(owned))
	for _, rs := range owned {
		cached[rs.Name] = rs.ResourceVersion
	}
	stored := make(map[string]string, len(list.Items))
	for _, rs := range list.Items {
		if ownedBy(rs, d) {
			stored[rs.Name] = rs.ResourceVersion
		}
	}
	if !maps.Equal(cached, stored) {
		r.Trace.Printf("reconcile Deployment %s: the cache of ReplicaSets is behind the store: waiting for it", controlloop.KeyOf(d))
		return true, nil
	}
	return false, nil
}

// collect deletes the ReplicaSets of a deleted Deployment of key, as
// Kubernetes' garbage collector would: with uid "", those of any
// Deployment of that name, once the store confirms it is gone; otherwise
// those of a former Deployment of that name (deleted, and created again
// before they went), whose UID is not uid.
func (r *DeploymentReconciler) collect(ctx context.Context, key controlloop.Key, uid string) error {
	var orphans []*controller.ReplicaSet
	for _, rs := range r.RSReader.List(controlloop.Selector{Namespace: key.Namespace}) {
		if ref, ok := rs.ControllerRef(); ok && ref.Kind == controlloop.KindOf[*Deployment]() && ref.Name == key.Name && ref.UID != uid {
			orphans = append(orphans, rs)
		}
	}
	if len(orphans) == 0 {
		return nil
	}
	if uid == "" {
		if _, err := r.Deployments.Get(ctx, key); !errors.Is(err, controlloop.ErrNotFound) {
			return err // nil: the cache has not seen it yet; its event brings a reconcile
		}
	}
	r.Trace.Printf("reconcile Deployment %s: removing %d ReplicaSets of a deleted Deployment", key, len(orphans))
	for _, rs := range orphans {
		err := r.ReplicaSets.Delete(ctx, controlloop.KeyOf(rs), controlloop.DeleteOptions{})
		if err != nil && !errors.Is(err, controlloop.ErrNotFound) {
			return fmt.Errorf("delete ReplicaSet %s: %w", rs.Name, err)
		}
	}
	return nil
}

// observe sums what d's ReplicaSets report. The updated Pods are those of
// the current template's ReplicaSet: of its hash and its template (not
// another template of the same hash).
func observe(d *Deployment, hash string, owned []*controller.ReplicaSet) DeploymentStatus {
	s := DeploymentStatus{ObservedGeneration: d.Generation}
	for _, rs := range owned {
		s.Replicas += rs.Status.Replicas
		s.ReadyReplicas += rs.Status.ReadyReplicas
		if rs.Spec.Template.Labels[HashLabel] == hash && sameTemplate(rs.Spec.Template, d.Spec.Template) {
			s.UpdatedReplicas = rs.Status.Replicas
		}
	}
	return s
}

// updateStatus writes status if it differs from what d shows
// (controller.WriteStatus).
func (r *DeploymentReconciler) updateStatus(ctx context.Context, d *Deployment, status DeploymentStatus) error {
	return controller.WriteStatus(ctx, r.Deployments, d, status, status.ObservedGeneration, func(d *Deployment) *DeploymentStatus { return &d.Status })
}

// sameTemplate reports whether a ReplicaSet's template (which carries the
// hash label) is the Deployment's template t.
func sameTemplate(rsTemplate, t controller.PodTemplate) bool {
	labels := maps.Clone(rsTemplate.Labels)
	delete(labels, HashLabel)
	return rsTemplate.Image == t.Image && maps.Equal(labels, t.Labels)
}

// describe is a Deployment's one-line state, for traces and reports.
func describe(d *Deployment) string {
	s := d.Status
	text := fmt.Sprintf("generation %d, image %s, spec.replicas %d, status %d pods (%d updated, %d ready; observed generation %d)",
		d.Generation, d.Spec.Template.Image, d.Spec.Replicas, s.Replicas, s.UpdatedReplicas, s.ReadyReplicas, s.ObservedGeneration)
	if s.Invalid != "" {
		text += ", invalid: " + s.Invalid
	}
	return text
}
