// Package controller is the ReplicaSet example's control loop, kept apart
// from its main so that the etcd module runs the very same code on etcd.
//
// Two controllers share two informers, as in Kubernetes:
//
//   - [ReplicaSetReconciler] makes the Pods of each [ReplicaSet] match its
//     spec. ReplicaSet events enqueue the ReplicaSet; Pod events enqueue the
//     ReplicaSet that owns the Pod. It reads the ReplicaSet and its Pods
//     (through a Pod index by owner) from the caches, creates or deletes
//     Pods, and writes what it observed to the status, retrying conflicts on
//     a fresh read.
//   - [NodeAgent] plays the kubelet and moves Pending Pods to Running, so
//     that the status can report ready replicas.
//
// [Admit] puts the example's admission in front of the ReplicaSet client:
// replicas default to 1, and an invalid spec is refused at write time. A
// ReplicaSet stored around it is reported in its status and left alone.
//
// [New] wires everything over a [Backend] (memstore or etcd) into a
// [System], run by a Manager of its own or, with Options.Manager, by the
// caller's, beside other controllers (the Deployment example's);
// [Scenario] plays the walk-through against a running System.
package controller
