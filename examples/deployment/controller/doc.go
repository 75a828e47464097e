// Package controller is the Deployment example's control loop: a
// Deployment controller that rolls Pods from one template to the next,
// over the ReplicaSet example's controllers (package
// examples/replicaset/controller), which create the Pods and start them.
//
// Three controllers share three informers, as in Kubernetes:
//
//   - [DeploymentReconciler] owns one ReplicaSet per template of each
//     [Deployment], named for the template's hash ([TemplateHash]), and
//     moves the Deployment's Pods from the old ReplicaSets to the current
//     one. Deployment events enqueue the Deployment; ReplicaSet events
//     enqueue the Deployment that owns the ReplicaSet.
//   - The ReplicaSet controller makes each ReplicaSet's Pods match its
//     spec and reports their ready count in its status.
//   - The node agent starts each Pod, after Options.ReadyDelay.
//
// [New] wires them over a [Backend] into a [System]; [Scenario] plays the
// walk-through against a running System.
//
// # Rollout
//
// A rollout keeps, at every moment, at most Replicas+MaxSurge Pods of the
// Deployment (counted over its ReplicaSets, old and new), and, once the
// Deployment has been available, at least Replicas-MaxUnavailable of them
// running (MaxSurge or MaxUnavailable beyond Replicas counts as Replicas).
// Each reconcile takes one step, and only while every ReplicaSet
// of the Deployment is settled (its controller has observed its spec and
// found exactly that many Pods): then the specs add up to the Pods that
// exist, and the ready counts in the statuses to no more than the Pods
// that run. The step grows the current ReplicaSet within the surge and
// shrinks the old ones, oldest revision first, by as many Pods as can go
// while enough run, counting each Pod that goes as a running one. The two
// halves are safe in either order, and either alone, since the
// ReplicaSets' controller acts on them in no order; the next step waits
// until both have happened.
//
// The bounds are kept against the controllers' own acts: a Pod that
// someone else deletes, or that stops running, takes the count below
// replicas-maxUnavailable until it is replaced, as a node failure does in
// Kubernetes.
//
// Each ReplicaSet carries the revision in which its template was last the
// Deployment's ([RevisionLabel]). Setting the template back to an earlier
// one is a rollback: its ReplicaSet, if still kept, becomes current again
// with a new revision, and its Pods come back under it. Old ReplicaSets at
// zero beyond Spec.RevisionHistoryLimit are deleted, oldest first.
//
// A Deployment's ReplicaSets are those it controls, by owner reference
// and UID, not those its selector matches: the selector may change, and
// the old ReplicaSets, which keep their labels whether or not the new
// selector matches them, are rolled away from like any other. The
// controller sets two labels
// of its own, [HashLabel] on each ReplicaSet and its Pods and
// [RevisionLabel] on each ReplicaSet; a template that has either is
// invalid ([Validate]), since the controller would overwrite it.
//
// Before a step writes, the reconciler reads the Deployment's ReplicaSets
// from the store and waits if the cache is behind them: a step decided on
// a stale ReplicaSet could count Pods that are gone or miss some that
// exist.
package controller
