package controller

import (
	"cmp"
	"slices"
	"strconv"

	"github.com/controlloop/controlloop/examples/replicaset/controller"
)

// plan is what one reconcile does to a Deployment's ReplicaSets: the
// next step of its rollout.
type plan struct {
	// create is the current template's ReplicaSet, when it does not exist
	// yet.
	create *controller.ReplicaSet
	// update holds the ReplicaSets whose replicas or revision change,
	// updated copies of the cached ones.
	update []*controller.ReplicaSet
	// remove holds the old ReplicaSets beyond the revision history limit.
	remove []*controller.ReplicaSet
	// waitFor, if set, is a ReplicaSet whose controller has not yet
	// caught up with its spec: nothing moves until it has.
	waitFor *controller.ReplicaSet
}

func (p plan) empty() bool {
	return p.create == nil && len(p.update) == 0 && len(p.remove) == 0
}

// nextStep plans the next step of d's rollout to the template of hash,
// over owned, d's ReplicaSets as the cache shows them (the template's own
// among them, if it exists yet).
//
// It moves only while every ReplicaSet is settled: its controller has
// observed its latest spec and found exactly that many Pods. Then the
// ReplicaSets' specs add up to the Pods that exist, and their ready
// counts to no more than the Pods that run (a Pod stops running only when
// its ReplicaSet's controller deletes it, which it does only for a new
// spec). From there:
//
//   - the current ReplicaSet grows by what maxSurge leaves: the Pods it
//     adds are counted against replicas+maxSurge before any old Pod goes,
//     since the ReplicaSets' controllers act in no order between them;
//   - the old ReplicaSets, oldest revision first, shrink by as many Pods
//     as can go while replicas-maxUnavailable run, each Pod that goes
//     counted as a running one (a ReplicaSet picks which Pods to delete);
//   - old ReplicaSets at zero beyond the revision history limit, oldest
//     first, are removed.
//
// Any subset of the step keeps both bounds, so a step cut short by a
// failed write, or by a lost leadership, is safe too.
func nextStep(d *Deployment, hash string, owned []*controller.ReplicaSet) plan {
	var p plan
	for _, rs := range owned {
		if !settled(rs) {
			p.waitFor = rs
			return p
		}
	}
	current := slices.IndexFunc(owned, func(rs *controller.ReplicaSet) bool { return rs.Spec.Template.Labels[HashLabel] == hash })
	olds := slices.Clone(owned)
	if current >= 0 {
		olds = slices.Delete(olds, current, current+1)
	}
	slices.SortFunc(olds, func(a, b *controller.ReplicaSet) int { return cmp.Compare(revision(a), revision(b)) })

	replicas := d.Spec.Replicas
	most, least := d.Spec.Strategy.bounds(replicas)
	total, ready, newestOld := 0, 0, 0
	for _, rs := range owned {
		total += *rs.Spec.Replicas
		ready += rs.Status.ReadyReplicas
	}
	if len(olds) > 0 {
		newestOld = revision(olds[len(olds)-1])
	}

	// The current ReplicaSet grows within the surge.
	want, rev := 0, newestOld+1
	if current >= 0 {
		want = *owned[current].Spec.Replicas
		rev = max(revision(owned[current]), newestOld+1) // a rollback makes it the newest again
	}
	if grow := min(replicas-want, most-total); grow > 0 {
		want += grow
	}
	// Old Pods go while enough run; then the current ReplicaSet's beyond
	// replicas (after Replicas shrank), on the same budget.
	budget := ready - least
	for _, rs := range olds {
		cut := min(*rs.Spec.Replicas, max(budget, 0))
		budget -= cut
		if cut > 0 {
			p.update = append(p.update, scaled(rs, *rs.Spec.Replicas-cut, revision(rs)))
		}
	}
	want -= min(max(want-replicas, 0), max(budget, 0))
	switch {
	case current < 0:
		p.create = replicaSetFor(d, hash, rev, want)
	case want != *owned[current].Spec.Replicas || rev != revision(owned[current]):
		p.update = append(p.update, scaled(owned[current], want, rev))
	}

	// History: the old ReplicaSets already at zero, newest first; those
	// beyond the limit go.
	var idle []*controller.ReplicaSet
	for _, rs := range slices.Backward(olds) {
		if *rs.Spec.Replicas == 0 {
			idle = append(idle, rs)
		}
	}
	if len(idle) > d.Spec.RevisionHistoryLimit {
		p.remove = idle[d.Spec.RevisionHistoryLimit:]
	}
	return p
}

// settled reports whether rs's controller has observed rs's spec and found
// exactly the Pods it asks for.
func settled(rs *controller.ReplicaSet) bool {
	return rs.Status.ObservedGeneration == rs.Generation && rs.Status.Invalid == "" &&
		rs.Spec.Replicas != nil && rs.Status.Replicas == *rs.Spec.Replicas
}

// revision returns the revision rs's label records, or 0.
func revision(rs *controller.ReplicaSet) int {
	n, err := strconv.Atoi(rs.Labels[RevisionLabel])
	if err != nil {
		return 0
	}
	return n
}

// scaled returns a copy of rs at replicas and revision.
func scaled(rs *controller.ReplicaSet, replicas, rev int) *controller.ReplicaSet {
	c := rs.DeepCopy()
	c.Spec.Replicas = &replicas
	c.Labels = withLabel(rs.Labels, RevisionLabel, strconv.Itoa(rev))
	return c
}
