// Package admission runs mutating and validating functions around any
// [controlloop.Client] before a write reaches the backend, as Kubernetes
// admission webhooks do: mutators fill in defaults, validators refuse
// objects that must never be stored.
//
//	volumes, err := admission.Wrap[*Volume](store, admission.Options[*Volume]{
//		Mutators:   []admission.Mutator[*Volume]{defaultSizeGB},
//		Validators: []admission.Validator[*Volume]{atMost1TB},
//	})
//	if err != nil {
//		return err // a nil client or invalid options
//	}
//	v, err := volumes.Create(ctx, &Volume{ObjectMeta: controlloop.ObjectMeta{Name: "data"}})
//
// The example of [Wrap] runs this in full.
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
//
// # Concurrency
//
// A [Client] is safe for concurrent use if the client it wraps is and its
// mutators and validators are: it keeps no state of its own.
package admission
