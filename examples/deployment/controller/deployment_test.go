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
