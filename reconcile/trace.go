package reconcile

import (
	"context"
	"fmt"

	"github.com/controlloop/controlloop"
)

// Tracer receives the spans of a controller's reconciles (Options.Tracer)
// and of the writes a [TracedClient] makes within them. The core has no
// tracing dependency: the module github.com/controlloop/controlloop/otel
// implements Tracer with OpenTelemetry. Its methods are called from the
// workers concurrently.
type Tracer interface {
	// StartReconcile starts the span of one reconcile. The context it
	// returns is the reconcile's (it should carry the span, so that the
	// writes' spans become its children); end is called once, when the
	// reconcile is over.
	StartReconcile(ctx context.Context, span ReconcileSpan) (_ context.Context, end func(ReconcileEnd))
	// StartWrite starts the span of one write: op is "create", "update",
	// "update_status" or "delete", key the object's. end is called once
	// with the write's error.
	StartWrite(ctx context.Context, op string, key controlloop.Key) (_ context.Context, end func(error))
}

// ReconcileSpan describes a reconcile as its span starts.
type ReconcileSpan struct {
	Controller  string
	Request     string // the request, as fmt.Sprint spells it
	ReconcileID string
	Reason      Reason
	// Retries is how many rate-limited retries of the request are on
	// record as it starts: 0 for a first attempt.
	Retries int
}

// ReconcileEnd describes how a reconcile ended.
type ReconcileEnd struct {
	Outcome  Outcome
	Err      error // the reconciler's error, nil without one
	Terminal bool
	Panicked bool
	TimedOut bool
}

// startSpan starts rctx's span if c has a Tracer; the returned end is
// never nil.
func (c *Controller[R]) startSpan(rctx *reconcileContext[R]) (context.Context, func(Observation, error)) {
	if c.opts.Tracer == nil {
		return rctx, func(Observation, error) {}
	}
	ctx, end := c.opts.Tracer.StartReconcile(rctx, ReconcileSpan{
		Controller:  c.opts.Name,
		Request:     fmt.Sprint(rctx.req),
		ReconcileID: rctx.idString(),
		Reason:      rctx.why,
		Retries:     c.queue.NumRequeues(rctx.req),
	})
	return ctx, func(obs Observation, err error) {
		end(ReconcileEnd{Outcome: obs.Outcome, Err: err, Terminal: obs.Terminal, Panicked: obs.Panicked, TimedOut: obs.TimedOut})
	}
}

// TracedClient wraps client so that each write it makes (Create, Update,
// UpdateStatus, Delete) is a span of tracer, a child of the reconcile's
// span when ctx is a traced reconcile's. Reads pass straight through.
func TracedClient[T controlloop.Object](client controlloop.Client[T], tracer Tracer) controlloop.Client[T] {
	return &tracedClient[T]{Client: client, tracer: tracer}
}

type tracedClient[T controlloop.Object] struct {
	controlloop.Client[T]
	tracer Tracer
}

func (c *tracedClient[T]) write(ctx context.Context, op string, obj T, f func(context.Context, T) (T, error)) (T, error) {
	ctx, end := c.tracer.StartWrite(ctx, op, controlloop.KeyOf(obj))
	out, err := f(ctx, obj)
	end(err)
	return out, err
}

func (c *tracedClient[T]) Create(ctx context.Context, obj T) (T, error) {
	return c.write(ctx, "create", obj, c.Client.Create)
}

func (c *tracedClient[T]) Update(ctx context.Context, obj T) (T, error) {
	return c.write(ctx, "update", obj, c.Client.Update)
}

func (c *tracedClient[T]) UpdateStatus(ctx context.Context, obj T) (T, error) {
	return c.write(ctx, "update_status", obj, c.Client.UpdateStatus)
}

func (c *tracedClient[T]) Delete(ctx context.Context, key controlloop.Key, opts controlloop.DeleteOptions) error {
	ctx, end := c.tracer.StartWrite(ctx, "delete", key)
	err := c.Client.Delete(ctx, key, opts)
	end(err)
	return err
}
