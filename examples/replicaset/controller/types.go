package controller

import (
	"maps"
	"slices"
	"time"

	"github.com/controlloop/controlloop"
)

// ReplicaSet asks for a number of identical Pods.
type ReplicaSet struct {
	controlloop.ObjectMeta
	Spec   ReplicaSetSpec   `json:"spec"`
	Status ReplicaSetStatus `json:"status"`
}

// ReplicaSetSpec is the desired state.
type ReplicaSetSpec struct {
	// Replicas is how many Pods to run; admission defaults it to 1.
	Replicas *int `json:"replicas,omitempty"`
	// Selector finds the ReplicaSet's Pods by label; it must match the
	// template's labels.
	Selector map[string]string `json:"selector"`
	// Template is what each Pod is made from.
	Template PodTemplate `json:"template"`
}

// PodTemplate describes the Pods a ReplicaSet creates.
type PodTemplate struct {
	Labels map[string]string `json:"labels"`
	Image  string            `json:"image"`
}

// ReplicaSetStatus is the observed state, written by the controller.
type ReplicaSetStatus struct {
	Replicas           int   `json:"replicas"`
	ReadyReplicas      int   `json:"readyReplicas"`
	ObservedGeneration int64 `json:"observedGeneration"`
	// Invalid, if not empty, says why the spec cannot be acted on.
	Invalid string `json:"invalid,omitempty"`
}

// DeepCopy returns a copy that shares nothing with r.
func (r *ReplicaSet) DeepCopy() *ReplicaSet {
	c := *r
	c.ObjectMeta = copyMeta(r.ObjectMeta)
	if r.Spec.Replicas != nil {
		n := *r.Spec.Replicas
		c.Spec.Replicas = &n
	}
	c.Spec.Selector = maps.Clone(r.Spec.Selector)
	c.Spec.Template.Labels = maps.Clone(r.Spec.Template.Labels)
	return &c
}

// Converged reports whether the status shows the spec fulfilled: the
// controller has seen the latest generation, and exactly the desired number
// of Pods exist and are running.
func (r *ReplicaSet) Converged() bool {
	want := 1
	if r.Spec.Replicas != nil {
		want = *r.Spec.Replicas
	}
	return r.Status.ObservedGeneration == r.Generation &&
		r.Status.Replicas == want && r.Status.ReadyReplicas == want
}

// Pod is one running copy of a ReplicaSet's template.
type Pod struct {
	controlloop.ObjectMeta
	Image string `json:"image"`
	// Created is when the ReplicaSet controller created the Pod; the node
	// agent waits Options.ReadyDelay from it before starting the Pod.
	Created time.Time `json:"created,omitzero"`
	// Phase is Pending until the node agent starts the Pod, then Running.
	Phase string `json:"phase"`
}

// Pod phases.
const (
	Pending = "Pending"
	Running = "Running"
)

// DeepCopy returns a copy that shares nothing with p.
func (p *Pod) DeepCopy() *Pod {
	c := *p
	c.ObjectMeta = copyMeta(p.ObjectMeta)
	return &c
}

func copyMeta(m controlloop.ObjectMeta) controlloop.ObjectMeta {
	m.Labels = maps.Clone(m.Labels)
	m.OwnerReferences = slices.Clone(m.OwnerReferences)
	return m
}
