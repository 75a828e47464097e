// Package admission runs mutating and validating functions around any
// [controlloop.Client] before a write reaches the backend, as Kubernetes
// admission webhooks do: mutators fill in defaults, validators refuse
// objects that must never be stored.
//
//	rs := admission.Wrap[*ReplicaSet](store, admission.Options[*ReplicaSet]{
//		Mutators:   []admission.Mutator[*ReplicaSet]{defaultReplicas},
//		Validators: []admission.Validator[*ReplicaSet]{validateSpec},
//	})
//
// Create and Update run every mutator, in order, on a deep copy of the
// object (the caller's object is never modified), then every validator; the
// first error stops the write. A validator's error is returned wrapped with
// [controlloop.ErrInvalid], so callers tell a refused object from a failed
// write with errors.Is. UpdateStatus, Get, List and Delete pass straight
// through: status writes record what is, and must not be refused because
// the desired state is invalid.
//
// Admission guards one client, not the store: a writer that goes around it
// can still store an invalid object, so controllers must still cope with one.
package admission
