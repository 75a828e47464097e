// Package otel adapts OpenTelemetry tracing to controlloop's tracing hook,
// [reconcile.Tracer]: one span per reconcile, and one per write made
// through a [reconcile.TracedClient] within it, as the reconcile span's
// child. It lives in a module of its own so that the core module stays
// free of OpenTelemetry.
//
//	tracer := otel.NewTracer(provider.Tracer("my-operator"))
//	ctl, err := reconcile.New(r, reconcile.Options[reconcile.Request]{Name: "rs", Tracer: tracer})
//	pods := reconcile.TracedClient(podClient, tracer) // the reconciler writes through it
//
// # Spans
//
// A reconcile's span is named "reconcile <controller>", of kind internal,
// with the attributes
//
//	controlloop.controller     the controller's name
//	controlloop.request        the request ("ns/name")
//	controlloop.reconcile_id   the reconcile id (as in the logs: reconcile.ReconcileID)
//	controlloop.reason         why it ran (reconcile.Reason.String)
//	controlloop.reason_label   its short form (reconcile.Reason.Label)
//	controlloop.retries        rate-limited retries on record as it started
//	controlloop.outcome        success, error or requeue_after
//	controlloop.terminal, controlloop.panicked, controlloop.timed_out   set when true
//
// and, when the reconcile fails, status Error with the error recorded on
// the span. A write's span is named "<op> <key>" ("create ns/web-0"), of
// kind client, with controlloop.op and controlloop.key, and status Error
// when the write fails.
package otel
