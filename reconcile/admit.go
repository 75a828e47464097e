package reconcile

import "context"

// An Admitter decides which requests this replica works on, when several
// replicas share a controller's work (package shard's Member is one). It
// is consulted twice, because ownership can change between the two: when an
// event source enqueues a request, and again when a worker takes it.
//
// Its methods must be safe for concurrent use and must not block.
type Admitter[R comparable] interface {
	// Admit reports whether req may enter the queue.
	Admit(req R) bool
	// Begin is called when a worker has taken req, before it reconciles.
	// If ok is false the request is dropped (Forget, then Done) without a
	// reconcile. Otherwise the reconcile runs under ctx, which derives
	// from workCtx, and end is called once it has returned.
	Begin(workCtx context.Context, req R) (ctx context.Context, end func(), ok bool)
}

// admits reports whether the controller's Admitter, if any, admits req.
func (c *Controller[R]) admits(req R) bool {
	return c.opts.Admitter == nil || c.opts.Admitter.Admit(req)
}
