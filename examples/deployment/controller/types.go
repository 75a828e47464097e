package controller

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/examples/replicaset/controller"
)

// Deployment asks for a number of Pods made from one template, and for a
// rolling update whenever the template changes.
type Deployment struct {
	controlloop.ObjectMeta
	Spec   DeploymentSpec   `json:"spec"`
	Status DeploymentStatus `json:"status"`
}

// DeploymentSpec is the desired state.
type DeploymentSpec struct {
	// Replicas is how many Pods to run.
	Replicas int `json:"replicas"`
	// Selector finds the Deployment's Pods by label; it must match the
	// template's labels. It may change, with the template: the old
	// ReplicaSets are the Deployment's by owner, not by selector, and are
	// scaled down as in any rollout.
	Selector map[string]string `json:"selector"`
	// Template is what each Pod is made from. Changing it rolls the Pods
	// over to a new ReplicaSet; setting it back to an earlier template
	// rolls back to that template's ReplicaSet, if it is still kept. Its
	// labels must not have the keys [HashLabel] and [RevisionLabel],
	// which the controller sets.
	Template controller.PodTemplate `json:"template"`
	// Strategy bounds the rolling update.
	Strategy RollingUpdate `json:"strategy"`
	// RevisionHistoryLimit is how many old ReplicaSets, scaled to zero,
	// are kept for a rollback; older ones are deleted.
	RevisionHistoryLimit int `json:"revisionHistoryLimit"`
}

// RollingUpdate bounds a rollout, in Pods, against Spec.Replicas. At most
// one of the two may be zero. Either beyond Replicas acts as Replicas (so
// math.MaxInt means no limit on the surge but twice Replicas, and none on
// the Pods unavailable).
type RollingUpdate struct {
	// MaxSurge is how many Pods beyond Replicas may exist during a rollout.
	MaxSurge int `json:"maxSurge"`
	// MaxUnavailable is how many Pods below Replicas may be not ready
	// during a rollout.
	MaxUnavailable int `json:"maxUnavailable"`
}

// bounds returns the most Pods a rollout of replicas may have and the
// fewest that must run, replicas+maxSurge and replicas-maxUnavailable,
// with each of the two at most replicas: so that neither overflows.
func (u RollingUpdate) bounds(replicas int) (most, least int) {
	return replicas + min(u.MaxSurge, replicas), replicas - min(u.MaxUnavailable, replicas)
}

// DeploymentStatus is the observed state, written by the controller.
type DeploymentStatus struct {
	ObservedGeneration int64 `json:"observedGeneration"`
	// Replicas counts the Pods of all the Deployment's ReplicaSets.
	Replicas int `json:"replicas"`
	// UpdatedReplicas counts the Pods of the current template's ReplicaSet.
	UpdatedReplicas int `json:"updatedReplicas"`
	// ReadyReplicas counts the running Pods of all its ReplicaSets.
	ReadyReplicas int `json:"readyReplicas"`
	// Invalid, if not empty, says why the spec cannot be acted on. The
	// counts above are still observed: the Pods run on as they were.
	Invalid string `json:"invalid,omitempty"`
}

// DeepCopy returns a copy that shares nothing with d.
func (d *Deployment) DeepCopy() *Deployment {
	c := *d
	c.Labels = maps.Clone(d.Labels)
	c.OwnerReferences = slices.Clone(d.OwnerReferences)
	c.Spec.Selector = maps.Clone(d.Spec.Selector)
	c.Spec.Template.Labels = maps.Clone(d.Spec.Template.Labels)
	return &c
}

// Complete reports whether the status shows the rollout done: the
// controller has seen the latest generation, and exactly Replicas Pods
// exist, all of the current template and all running.
func (d *Deployment) Complete() bool {
	s := d.Status
	return s.ObservedGeneration == d.Generation && s.Invalid == "" &&
		s.Replicas == d.Spec.Replicas && s.UpdatedReplicas == d.Spec.Replicas && s.ReadyReplicas == d.Spec.Replicas
}

// Validate says what is wrong with d's spec, if anything.
func Validate(d *Deployment) error {
	var errs []error
	s := d.Spec
	for _, f := range []struct {
		name string
		v    int
	}{
		{"replicas", s.Replicas}, {"strategy.maxSurge", s.Strategy.MaxSurge},
		{"strategy.maxUnavailable", s.Strategy.MaxUnavailable}, {"revisionHistoryLimit", s.RevisionHistoryLimit},
	} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("spec.%s is %d: must not be negative", f.name, f.v))
		}
	}
	if s.Strategy.MaxSurge == 0 && s.Strategy.MaxUnavailable == 0 {
		errs = append(errs, errors.New("spec.strategy has maxSurge and maxUnavailable 0: a rollout could never start"))
	}
	if len(s.Selector) == 0 {
		errs = append(errs, errors.New("spec.selector is empty: it would select every Pod"))
	} else if !(controlloop.Selector{Labels: s.Selector}).MatchesLabels(s.Template.Labels) {
		errs = append(errs, fmt.Errorf("spec.selector %v does not match spec.template.labels %v", s.Selector, s.Template.Labels))
	}
	if _, ok := s.Template.Labels[HashLabel]; ok {
		errs = append(errs, fmt.Errorf("spec.template.labels has %s: the controller sets it", HashLabel))
	}
	// A ReplicaSet's labels are its template's and the revision: a
	// template label of that name would be overwritten on the ReplicaSet.
	if _, ok := s.Template.Labels[RevisionLabel]; ok {
		errs = append(errs, fmt.Errorf("spec.template.labels has %s: the controller sets it on the ReplicaSets, for their revision", RevisionLabel))
	}
	return errors.Join(errs...)
}
