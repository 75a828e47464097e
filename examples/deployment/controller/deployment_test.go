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
		d, err := sys.Deployments.Get(ctx, controlloop.KeyOf(d))
		if err != nil {
			t.Fatal(err)
		}
		d = d.DeepCopy()
		labels := map[string]string{"app": "web2"}
		d.Spec.Selector, d.Spec.Template.Labels, d.Spec.Template.Image = labels, labels, "nginx:1.28"
		if _, err := sys.Deployments.Update(ctx, d); err != nil {
			t.Fatal(err)
		}
		if err := sys.w.Steady(); err != nil {
			t.Fatal(err)
		}
		got, err := sys.Deployments.Get(ctx, controlloop.KeyOf(d))
		if err != nil {
			t.Fatal(err)
		}
		if !got.Complete() {
			t.Errorf("Deployment not rolled out to the new selector: %+v at generation %d", got.Status, got.Generation)
		}
		current := "web-" + controller.TemplateHash(d.Spec.Template)
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
