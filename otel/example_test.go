package otel_test

import (
	"context"
	"fmt"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/controlloop/controlloop"
	ctlotel "github.com/controlloop/controlloop/otel"
	"github.com/controlloop/controlloop/reconcile"
)

// ExampleNewTracer records the span of one write through a TracedClient.
func ExampleNewTracer() {
	exporter := tracetest.NewInMemoryExporter()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
	defer provider.Shutdown(context.Background())
	tracer, err := ctlotel.NewTracer(provider.Tracer("example"))
	if err != nil {
		panic(err)
	}
	// Pass tracer as reconcile.Options.Tracer for the reconciles' spans.
	ctx, end := tracer.StartWrite(context.Background(), "delete", controlloop.Key{Namespace: "ns", Name: "web-0"})
	_ = ctx // the write runs with ctx
	end(nil)
	var _ reconcile.Tracer = tracer
	for _, s := range exporter.GetSpans() {
		fmt.Println(s.Name, s.SpanKind)
	}
	// Output:
	// delete ns/web-0 client
}
