package reconcile

import (
	"context"
	"time"

	"github.com/controlloop/controlloop"
)

// Request names the object to reconcile. Controllers are generic over the
// request type; this is the default.
type Request = controlloop.Key

// A Reconciler brings one object's world in line with its desired state.
// It is called with the object's key only: it reads the current state (from
// a cache, usually), compares it with the desired state, and acts. It must
// be idempotent: it may be called any number of times for one change.
//
// What the returned values mean is in the package documentation.
type Reconciler[R comparable] interface {
	Reconcile(ctx context.Context, req R) (Result, error)
}

// Func adapts a function to a [Reconciler].
type Func[R comparable] func(ctx context.Context, req R) (Result, error)

// Reconcile calls f.
func (f Func[R]) Reconcile(ctx context.Context, req R) (Result, error) { return f(ctx, req) }

var _ Reconciler[Request] = Func[Request](nil)

// Result says when a request that succeeded should be looked at again.
// The zero Result means "done until something changes".
type Result struct {
	// RequeueAfter, if positive, reconciles the request again after this
	// long, with its failure history cleared. It is ignored when Reconcile
	// returns an error.
	RequeueAfter time.Duration
	// Priority is the priority of the request's requeue, whether after
	// RequeueAfter or after an error. Defaults to 0.
	Priority int
}
