package controller_test

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/examples/deployment/controller"
	rs "github.com/controlloop/controlloop/examples/replicaset/controller"
)

func webDeployment(replicas int, strategy controller.RollingUpdate) *controller.Deployment {
	labels := map[string]string{"app": "web"}
	return &controller.Deployment{
		ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: "web"},
		Spec: controller.DeploymentSpec{
			Replicas: replicas, Selector: labels, Strategy: strategy, RevisionHistoryLimit: 1,
			Template: rs.PodTemplate{Labels: labels, Image: "nginx:1.27"},
		},
	}
}

// TestInvalidDeploymentReported: a spec the controller cannot act on is
// reported in the status, and no ReplicaSet is made for it.
func TestInvalidDeploymentReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := newKitSystem(t, controller.Options{})
		ctx := context.Background()
		d := webDeployment(-1, controller.RollingUpdate{})
		d.Spec.Template.Labels = map[string]string{"app": "other"}
		if _, err := sys.Deployments.Create(ctx, d); err != nil {
			t.Fatal(err)
		}
		if err := sys.w.Steady(); err != nil {
			t.Fatal(err)
		}
		got, err := sys.Deployments.Get(ctx, controlloop.KeyOf(d))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"spec.replicas is -1", "maxSurge and maxUnavailable 0", "does not match"} {
			if !strings.Contains(got.Status.Invalid, want) {
				t.Errorf("status.invalid = %q, lacks %q", got.Status.Invalid, want)
			}
		}
		if n := sys.ReplicaSets.RSReader.Len(); n != 0 {
			t.Errorf("%d ReplicaSets for an invalid Deployment", n)
		}
	})
}

// TestDeletedDeploymentCollected: the ReplicaSets of a deleted Deployment
// go, and with them their Pods; so do those of a Deployment deleted and
// created again before they went (the new one makes its own).
func TestDeletedDeploymentCollected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := newKitSystem(t, controller.Options{})
		ctx := context.Background()
		d := webDeployment(2, controller.RollingUpdate{MaxSurge: 1})
		if _, err := sys.Deployments.Create(ctx, d); err != nil {
			t.Fatal(err)
		}
		if err := sys.w.Steady(); err != nil {
			t.Fatal(err)
		}
		if n := sys.pods.Len(); n != 2 {
			t.Fatalf("%d pods, want 2", n)
		}
		if err := sys.Deployments.Delete(ctx, controlloop.KeyOf(d), controlloop.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := sys.w.Steady(); err != nil {
			t.Fatal(err)
		}
		if rsN, podN := sys.ReplicaSets.RSReader.Len(), sys.pods.Len(); rsN != 0 || podN != 0 {
			t.Errorf("%d ReplicaSets and %d pods left after the Deployment's delete", rsN, podN)
		}

		first, err := sys.Deployments.Create(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		if err := sys.w.Steady(); err != nil {
			t.Fatal(err)
		}
		// Deleted and created again at once, behind the controller's back.
		if err := sys.deployments.Delete(ctx, controlloop.KeyOf(d), controlloop.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		second, err := sys.deployments.Create(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		if err := sys.w.Steady(); err != nil {
			t.Fatal(err)
		}
		for _, r := range sys.replicaSets.All() {
			if ref, _ := r.ControllerRef(); ref.UID != second.UID {
				t.Errorf("ReplicaSet %s owned by %s, not the new Deployment %s (the first was %s)", r.Name, ref.UID, second.UID, first.UID)
			}
		}
		if n := sys.pods.Len(); n != 2 {
			t.Errorf("%d pods, want 2", n)
		}
	})
}

// TestReservedTemplateLabelsInvalid: a template label the controller sets
// on its ReplicaSets (the revision) is reported, rather than overwritten
// on the ReplicaSet, whose labels would then no longer be the template's.
func TestReservedTemplateLabelsInvalid(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := newKitSystem(t, controller.Options{})
		ctx := context.Background()
		d := webDeployment(2, controller.RollingUpdate{MaxSurge: 1})
		d.Spec.Selector = map[string]string{"app": "web", controller.RevisionLabel: "stable"}
		d.Spec.Template.Labels = d.Spec.Selector
		if _, err := sys.Deployments.Create(ctx, d); err != nil {
			t.Fatal(err)
		}
		if err := sys.w.Steady(); err != nil {
			t.Fatal(err)
		}
		got, err := sys.Deployments.Get(ctx, controlloop.KeyOf(d))
		if err != nil {
			t.Fatal(err)
		}
		if want := "spec.template.labels has " + controller.RevisionLabel; !strings.Contains(got.Status.Invalid, want) {
			t.Errorf("status.invalid = %q, lacks %q", got.Status.Invalid, want)
		}
	})
}

// TestSelectorChangeRollsOut: a new selector, with new template labels,
// rolls out like any new template, although the old ReplicaSet's labels
// no longer match it: the Deployment's ReplicaSets are its by owner.
func TestSelectorChangeRollsOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := newKitSystem(t, controller.Options{})
		ctx := context.Background()
		d := webDeployment(2, controller.RollingUpdate{MaxSurge: 1})
		if _, err := sys.Deployments.Create(ctx, d); err != nil {
			t.Fatal(err)
		}
		if err := sys.w.Steady(); err != nil {
			t.Fatal(err)
		}
		labels := map[string]string{"app": "web2"}
		got := change(t, sys, d, func(d *controller.Deployment) {
			d.Spec.Selector, d.Spec.Template.Labels, d.Spec.Template.Image = labels, labels, "nginx:1.28"
		})
		if !got.Complete() {
			t.Errorf("Deployment not rolled out to the new selector: %+v at generation %d", got.Status, got.Generation)
		}
		current := "web-" + controller.TemplateHash(got.Spec.Template)
		for _, r := range sys.replicaSets.All() {
			if want := map[bool]int{true: 2}[r.Name == current]; *r.Spec.Replicas != want {
				t.Errorf("ReplicaSet %s at %d replicas, want %d", r.Name, *r.Spec.Replicas, want)
			}
		}
		for k, p := range sys.pods.All() {
			if ref, _ := p.ControllerRef(); ref.Name != current || p.Labels["app"] != "web2" || p.Phase != rs.Running {
				t.Errorf("pod %s: %s, owned by %s, labels %v; want Running of %s", k, p.Phase, ref.Name, p.Labels, current)
			}
		}
		if n := sys.pods.Len(); n != 2 {
			t.Errorf("%d pods, want 2", n)
		}
	})
}

// TestHashCollisionRefused: a new template whose hash is that of the
// running one (32 bits of FNV-1a collide) is refused, as TemplateHash
// says: reported in the status, which still counts the running Pods (none
// of them updated), and the old Pods are left alone rather than taken
// for the new template's.
func TestHashCollisionRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := newKitSystem(t, controller.Options{})
		d := webDeployment(2, controller.RollingUpdate{MaxSurge: 1})
		d.Spec.Template.Image = "nginx:329599"
		colliding := d.Spec.Template
		colliding.Image = "nginx:532382"
		hash := controller.TemplateHash(d.Spec.Template)
		if other := controller.TemplateHash(colliding); other != hash {
			t.Fatalf("the two templates' hashes %s and %s differ: no collision to test", hash, other)
		}
		if _, err := sys.Deployments.Create(context.Background(), d); err != nil {
			t.Fatal(err)
		}
		if err := sys.w.Steady(); err != nil {
			t.Fatal(err)
		}
		got := change(t, sys, d, func(d *controller.Deployment) { d.Spec.Template = colliding })
		if want := "has the hash " + hash + " of another template"; !strings.Contains(got.Status.Invalid, want) {
			t.Errorf("status.invalid = %q, lacks %q", got.Status.Invalid, want)
		}
		if s := got.Status; s.Replicas != 2 || s.ReadyReplicas != 2 || s.UpdatedReplicas != 0 {
			t.Errorf("status %+v: want the 2 running Pods counted, none updated", s)
		}
		if n := sys.ReplicaSets.RSReader.Len(); n != 1 {
			t.Errorf("%d ReplicaSets, want the first one only", n)
		}
		for k, p := range sys.pods.All() {
			if p.Image != "nginx:329599" || p.Phase != rs.Running {
				t.Errorf("pod %s: %s %s, want the first template's, running", k, p.Image, p.Phase)
			}
		}
		if n := sys.pods.Len(); n != 2 {
			t.Errorf("%d pods, want 2", n)
		}
	})
}

// TestInvalidSpecKeepsCounts: a running Deployment whose spec becomes
// invalid reports why, and its status still counts the Pods that run.
func TestInvalidSpecKeepsCounts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := newKitSystem(t, controller.Options{})
		d := webDeployment(2, controller.RollingUpdate{MaxSurge: 1})
		if _, err := sys.Deployments.Create(context.Background(), d); err != nil {
			t.Fatal(err)
		}
		if err := sys.w.Steady(); err != nil {
			t.Fatal(err)
		}
		got := change(t, sys, d, func(d *controller.Deployment) { d.Spec.Strategy = controller.RollingUpdate{} })
		if got.Status.Invalid == "" {
			t.Errorf("status %+v: not invalid", got.Status)
		}
		if s := got.Status; s.Replicas != 2 || s.ReadyReplicas != 2 || s.UpdatedReplicas != 2 {
			t.Errorf("status %+v: want the 2 running Pods counted, all updated", s)
		}
		if n := sys.pods.Len(); n != 2 {
			t.Errorf("%d pods, want 2", n)
		}
	})
}

// change changes d in the store as a user would, waits until the system
// is steady, and returns the Deployment then.
func change(t *testing.T, sys *kitSystem, d *controller.Deployment, mutate func(*controller.Deployment)) *controller.Deployment {
	t.Helper()
	ctx := context.Background()
	d, err := sys.Deployments.Get(ctx, controlloop.KeyOf(d))
	if err != nil {
		t.Fatal(err)
	}
	d = d.DeepCopy()
	mutate(d)
	if _, err := sys.Deployments.Update(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := sys.w.Steady(); err != nil {
		t.Fatal(err)
	}
	d, err = sys.Deployments.Get(ctx, controlloop.KeyOf(d))
	if err != nil {
		t.Fatal(err)
	}
	return d
}
