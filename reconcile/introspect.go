package reconcile

import (
	"fmt"
	"time"

	"github.com/controlloop/controlloop/workqueue"
)

// introspection is what a controller keeps to answer "what is it doing":
// the reasons of queued requests (with Introspect or a Tracer), the
// per-key states and the reason counter (with Introspect).
type introspection[R comparable] struct {
	reasons *reasons[R]
	states  *stateTable[R] // nil without Introspect
	counter ReasonMetrics  // nil unless the metrics count reasons
}

// setUpIntrospection makes c's introspection as opts ask, and has the
// queue record times for its snapshots.
func (c *Controller[R]) setUpIntrospection(opts *Options[R], qopts *workqueue.Options[R]) {
	if !opts.Introspect && opts.Tracer == nil {
		return
	}
	c.intro = &introspection[R]{reasons: &reasons[R]{first: make(map[R]Reason)}}
	if opts.Introspect {
		c.intro.states = newStateTable[R](opts.KeyStates)
		qopts.Timestamps = true
		c.intro.counter, _ = c.metrics.(ReasonMetrics)
	}
}

// noteReason records why req is about to be added, if c keeps reasons.
func (c *Controller[R]) noteReason(req R, r Reason) {
	if c.intro != nil {
		c.intro.reasons.note(req, r)
	}
}

// dropReason forgets req's reason: the request leaves the queue without a
// reconcile (another shard owns it).
func (c *Controller[R]) dropReason(req R) {
	if c.intro != nil {
		c.intro.reasons.take(req)
	}
}

// beginReconcile takes rctx's reason off the side table and counts it.
func (c *Controller[R]) beginReconcile(rctx *reconcileContext[R]) {
	if c.intro == nil {
		return
	}
	rctx.why = c.intro.reasons.take(rctx.req)
	rctx.hasWhy = true
	if c.intro.counter != nil {
		c.intro.counter.ReconcileReason(rctx.why.Label())
	}
}

// endReconcile records the reconcile's state.
func (c *Controller[R]) endReconcile(rctx *reconcileContext[R], obs Observation, err error, start time.Time) {
	if c.intro == nil || c.intro.states == nil {
		return
	}
	s := KeyState[R]{
		Request:  rctx.req,
		Reason:   rctx.why,
		Outcome:  obs.Outcome,
		Terminal: obs.Terminal,
		Started:  start,
		Duration: obs.Duration,
	}
	if err != nil {
		s.Error = err.Error()
		if !obs.Terminal { // otherwise Forget has reset the count: 0
			s.Retries = c.queue.NumRequeues(rctx.req)
		}
	}
	c.intro.states.record(s, rctx.id)
}

// Introspecting reports whether the controller keeps per-key states
// (Options.Introspect).
func (c *Controller[R]) Introspecting() bool { return c.intro != nil && c.intro.states != nil }

// KeyStates returns the last reconcile of each request the controller
// remembers, most recent first: up to Options.KeyStates of them, the least
// recently reconciled dropped first. Without Options.Introspect it returns
// nil. It copies the table under its lock: O(n), not blocking the queue.
func (c *Controller[R]) KeyStates() []KeyState[R] {
	if !c.Introspecting() {
		return nil
	}
	return c.intro.states.all()
}

// KeyState returns the last reconcile of req, if the controller remembers it.
func (c *Controller[R]) KeyState(req R) (KeyState[R], bool) {
	if !c.Introspecting() {
		return KeyState[R]{}, false
	}
	return c.intro.states.get(req)
}

// Pending returns what the controller's queue holds (see
// [workqueue.Queue.Snapshot]), with each request spelt as fmt.Sprint
// spells it: for code that does not know R, such as a test waiting until
// no request is queued, waiting or being reconciled (package
// reconciletest). It works without Options.Introspect; O(n) for n items.
func (c *Controller[R]) Pending() []workqueue.ItemInfo[string] {
	items := c.queue.Snapshot()
	out := make([]workqueue.ItemInfo[string], len(items))
	for i, it := range items {
		out[i] = workqueue.ItemInfo[string]{
			Item: fmt.Sprint(it.Item), State: it.State, Priority: it.Priority,
			ReadyAt: it.ReadyAt, Since: it.Since, Requeued: it.Requeued, Requeues: it.Requeues,
		}
	}
	return out
}
