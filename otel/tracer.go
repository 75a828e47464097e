package otel

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/reconcile"
)

// Tracer is a [reconcile.Tracer] that records spans with an OpenTelemetry
// tracer. Create it with [NewTracer]; it is safe for concurrent use, as
// OpenTelemetry tracers are.
type Tracer struct {
	tracer trace.Tracer
}

var _ reconcile.Tracer = (*Tracer)(nil)

// NewTracer returns a Tracer that records with t (from a TracerProvider's
// Tracer method). A nil t is refused with an error wrapping
// [controlloop.ErrInvalid].
func NewTracer(t trace.Tracer) (*Tracer, error) {
	if t == nil {
		return nil, errNilTracer
	}
	return &Tracer{tracer: t}, nil
}

// StartReconcile implements [reconcile.Tracer].
func (t *Tracer) StartReconcile(ctx context.Context, s reconcile.ReconcileSpan) (context.Context, func(reconcile.ReconcileEnd)) {
	ctx, span := t.tracer.Start(ctx, "reconcile "+s.Controller, trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(
		attribute.String("controlloop.controller", s.Controller),
		attribute.String("controlloop.request", s.Request),
		attribute.String("controlloop.reconcile_id", s.ReconcileID),
		attribute.String("controlloop.reason", s.Reason.String()),
		attribute.String("controlloop.reason_label", s.Reason.Label()),
		attribute.Int("controlloop.retries", s.Retries),
	))
	return ctx, func(e reconcile.ReconcileEnd) {
		span.SetAttributes(attribute.String("controlloop.outcome", e.Outcome.String()))
		for _, flag := range []struct {
			key string
			set bool
		}{{"controlloop.terminal", e.Terminal}, {"controlloop.panicked", e.Panicked}, {"controlloop.timed_out", e.TimedOut}} {
			if flag.set {
				span.SetAttributes(attribute.Bool(flag.key, true))
			}
		}
		if e.Err != nil {
			span.RecordError(e.Err)
			span.SetStatus(codes.Error, e.Err.Error())
		}
		span.End()
	}
}

// StartWrite implements [reconcile.Tracer].
func (t *Tracer) StartWrite(ctx context.Context, op string, key controlloop.Key) (context.Context, func(error)) {
	ctx, span := t.tracer.Start(ctx, op+" "+key.String(), trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String("controlloop.op", op),
		attribute.String("controlloop.key", key.String()),
	))
	return ctx, func(err error) {
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}
}
