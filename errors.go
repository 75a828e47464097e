package controlloop

import "errors"

// Sentinel errors shared by every backend. Test for them with [errors.Is]:
// backends wrap them with detail.
var (
	// ErrExpired means the requested resource version is older than the
	// store keeps (compacted, or outside its history window): list again.
	// It is the analogue of HTTP 410 Gone and etcd's ErrCompacted.
	ErrExpired = errors.New("controlloop: resource version expired")
	// ErrNotFound means no object has the requested key.
	ErrNotFound = errors.New("controlloop: not found")
	// ErrConflict means a write carried a resource version that is no longer
	// current: read the object again and retry.
	ErrConflict = errors.New("controlloop: conflict")
	// ErrAlreadyExists means Create found an object with the same key.
	ErrAlreadyExists = errors.New("controlloop: already exists")
	// ErrInvalid means the input was unusable: a nil object, an empty name,
	// or a value a validating admission function refused.
	ErrInvalid = errors.New("controlloop: invalid")
	// ErrAlreadyStarted is returned by a second call to any Run in this
	// module, whether the first is still running or has returned: every Run
	// runs once (see the package doc's "Lifecycles").
	ErrAlreadyStarted = errors.New("controlloop: already started")
)
