package controller

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/examples/replicaset/controller"
	"github.com/google/go-cmp/cmp"
)

// rsAt is a ReplicaSet of d for the template image, at revision rev with
// spec replicas, whose controller reports pods Pods of which ready run;
// settled unless pods differs from replicas.
func rsAt(d *Deployment, image string, rev, replicas, pods, ready int) *controller.ReplicaSet {
	t := d.DeepCopy()
	t.Spec.Template.Image = image
	rs := replicaSetFor(t, TemplateHash(t.Spec.Template), rev, replicas)
	rs.Generation = 1
	rs.Status = controller.ReplicaSetStatus{Replicas: pods, ReadyReplicas: ready, ObservedGeneration: 1}
	return rs
}

// TestNextStep walks the planner through the cases of a rollout, each
// step's outcome written as "image=replicas@revision" per changed
// ReplicaSet.
func TestNextStep(t *testing.T) {
	deployment := func(replicas, surge, unavailable, history int) *Deployment {
		labels := map[string]string{"app": "web"}
		return &Deployment{
			ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: "web", UID: "uid-1"},
			Spec: DeploymentSpec{
				Replicas: replicas, Selector: labels, Strategy: RollingUpdate{MaxSurge: surge, MaxUnavailable: unavailable},
				RevisionHistoryLimit: history, Template: controller.PodTemplate{Labels: labels, Image: "new"},
			},
		}
	}
	d310 := deployment(3, 1, 0, 1)
	d301 := deployment(3, 0, 1, 1)
	for _, tc := range []struct {
		name  string
		d     *Deployment
		owned []*controller.ReplicaSet
		want  string
	}{
		{"a new Deployment gets all its replicas at once", d310, nil,
			"create new=3@1"},
		{"an unsettled ReplicaSet holds everything", d310, []*controller.ReplicaSet{rsAt(d310, "old", 1, 3, 2, 2)},
			"wait for old"},
		{"surge first: one new Pod, no old one goes while only 3 run", d310, []*controller.ReplicaSet{rsAt(d310, "old", 1, 3, 3, 3)},
			"create new=1@2"},
		{"the surged Pod runs: one old goes, and the new one cannot grow yet", d310, []*controller.ReplicaSet{rsAt(d310, "old", 1, 3, 3, 3), rsAt(d310, "new", 2, 1, 1, 1)},
			"update old=2@1"},
		{"the new Pod has not started: nothing moves", d310, []*controller.ReplicaSet{rsAt(d310, "old", 1, 3, 3, 3), rsAt(d310, "new", 2, 1, 1, 0)},
			""},
		{"no surge: one old Pod goes first", d301, []*controller.ReplicaSet{rsAt(d301, "old", 1, 3, 3, 3)},
			"update old=2@1, create new=0@2"},
		{"no surge: the new ReplicaSet grows into the room", d301, []*controller.ReplicaSet{rsAt(d301, "old", 1, 2, 2, 2), rsAt(d301, "new", 2, 0, 0, 0)},
			"update new=1@2"},
		{"old Pods go oldest revision first", deployment(3, 1, 2, 2), []*controller.ReplicaSet{rsAt(d310, "b", 2, 1, 1, 1), rsAt(d310, "a", 1, 2, 2, 2), rsAt(d310, "new", 3, 1, 1, 1)},
			"update a=0@1, b=0@2"},
		{"a rollback makes the kept ReplicaSet the newest revision", d310, []*controller.ReplicaSet{rsAt(d310, "new", 1, 0, 0, 0), rsAt(d310, "old", 2, 3, 3, 3)},
			"update new=1@3"},
		{"ReplicaSets at zero beyond the history go, oldest first", deployment(3, 1, 0, 1), []*controller.ReplicaSet{
			rsAt(d310, "a", 1, 0, 0, 0), rsAt(d310, "b", 2, 0, 0, 0), rsAt(d310, "c", 3, 0, 0, 0), rsAt(d310, "new", 4, 3, 3, 3)},
			"remove b, a"},
		{"no history: every old ReplicaSet at zero goes", deployment(3, 1, 0, 0), []*controller.ReplicaSet{rsAt(d310, "a", 1, 0, 0, 0), rsAt(d310, "new", 2, 3, 3, 3)},
			"remove a"},
		{"fewer replicas: the surplus goes within the budget", deployment(3, 1, 1, 1), []*controller.ReplicaSet{rsAt(d310, "new", 1, 5, 5, 5)},
			"update new=3@1"},
		{"a huge maxSurge acts as replicas: a new Deployment gets all its replicas", deployment(3, math.MaxInt, 0, 1), nil,
			"create new=3@1"},
		{"a huge maxSurge acts as replicas: all the new Pods at once", deployment(3, math.MaxInt, 0, 1), []*controller.ReplicaSet{rsAt(d310, "old", 1, 3, 3, 3)},
			"create new=3@2"},
		{"a huge maxUnavailable acts as replicas: every old Pod may go, after a scale down too", deployment(3, 0, math.MaxInt, 1), []*controller.ReplicaSet{rsAt(d310, "old", 1, 5, 5, 5)},
			"update old=0@1, create new=0@2"},
		{"a rollout done: nothing to do", d310, []*controller.ReplicaSet{rsAt(d310, "old", 1, 0, 0, 0), rsAt(d310, "new", 2, 3, 3, 3)},
			""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := describePlan(nextStep(tc.d, TemplateHash(tc.d.Spec.Template), tc.owned))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("nextStep (-want +got):\n%s", diff)
			}
		})
	}
}

func describePlan(p plan) string {
	if p.waitFor != nil {
		return "wait for " + p.waitFor.Spec.Template.Image
	}
	at := func(rs *controller.ReplicaSet) string {
		return fmt.Sprintf("%s=%d@%d", rs.Spec.Template.Image, *rs.Spec.Replicas, revision(rs))
	}
	var parts []string
	if len(p.update) > 0 {
		parts = append(parts, "update "+strings.Join(mapSlice(p.update, at), ", "))
	}
	if p.create != nil {
		parts = append(parts, "create "+at(p.create))
	}
	if len(p.remove) > 0 {
		parts = append(parts, "remove "+strings.Join(mapSlice(p.remove, func(rs *controller.ReplicaSet) string { return rs.Spec.Template.Image }), ", "))
	}
	return strings.Join(parts, ", ")
}

func mapSlice[T, U any](s []T, f func(T) U) []U {
	out := make([]U, len(s))
	for i, v := range s {
		out[i] = f(v)
	}
	return out
}
