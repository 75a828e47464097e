package controller

import (
	"fmt"
	"hash/fnv"
	"maps"
	"slices"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/examples/replicaset/controller"
)

// HashLabel labels each ReplicaSet of a Deployment, and its Pods, with the
// hash of the template they were made from, so that the ReplicaSets of two
// templates never select each other's Pods.
const HashLabel = "pod-template-hash"

// RevisionLabel labels each ReplicaSet of a Deployment with the revision
// in which its template was last the Deployment's: the newest old
// ReplicaSets are kept for a rollback, and old ones are scaled down oldest
// first. A template must not have it ([Validate]).
const RevisionLabel = "revision"

// TemplateHash returns a stable hash of t: the same for equal templates,
// in any process, whatever the order of its labels.
//
// It is 32 bits of FNV-1a: two templates of one Deployment that collide
// would share a ReplicaSet, and the controller refuses that (see
// [DeploymentReconciler]) rather than run the wrong Pods.
func TemplateHash(t controller.PodTemplate) string {
	h := fnv.New32a()
	fmt.Fprintf(h, "%q", t.Image) // quoted, so that no two templates write the same bytes
	for _, k := range slices.Sorted(maps.Keys(t.Labels)) {
		fmt.Fprintf(h, " %q=%q", k, t.Labels[k])
	}
	return fmt.Sprintf("%08x", h.Sum32())
}

// replicaSetFor returns the ReplicaSet that runs d's current template,
// with hash as TemplateHash returns it, at the given revision and
// replicas.
func replicaSetFor(d *Deployment, hash string, revision, replicas int) *controller.ReplicaSet {
	template := controller.PodTemplate{Labels: withLabel(d.Spec.Template.Labels, HashLabel, hash), Image: d.Spec.Template.Image}
	labels := withLabel(template.Labels, RevisionLabel, fmt.Sprint(revision))
	return &controller.ReplicaSet{
		ObjectMeta: controlloop.ObjectMeta{
			Namespace:       d.Namespace,
			Name:            d.Name + "-" + hash,
			Labels:          labels,
			OwnerReferences: []controlloop.OwnerReference{controlloop.OwnerOf(d, true)},
		},
		Spec: controller.ReplicaSetSpec{
			Replicas: &replicas,
			Selector: withLabel(d.Spec.Selector, HashLabel, hash),
			Template: template,
		},
	}
}

func withLabel(labels map[string]string, k, v string) map[string]string {
	l := maps.Clone(labels)
	if l == nil {
		l = map[string]string{}
	}
	l[k] = v
	return l
}
