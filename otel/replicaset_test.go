package otel_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/controlloop/controlloop/examples/replicaset/controller"
	"github.com/controlloop/controlloop/memstore"
	ctlotel "github.com/controlloop/controlloop/otel"
)

// TestReplicaSetExampleTraces runs the ReplicaSet example's scenario with
// the adapter as its Tracer: each of its Pod creates is a span whose
// parent is a replicaset reconcile's, and the node agent's reconciles and
// status writes are traced too.
func TestReplicaSetExampleTraces(t *testing.T) {
	exporter := tracetest.NewInMemoryExporter()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
	defer provider.Shutdown(context.Background())
	tracer, err := ctlotel.NewTracer(provider.Tracer("replicaset"))
	if err != nil {
		t.Fatal(err)
	}
	rsStore, err := memstore.New[*controller.ReplicaSet](memstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	podStore, err := memstore.New[*controller.Pod](memstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sys, err := controller.New(controller.Backend{ReplicaSets: rsStore, Pods: podStore}, controller.Options{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Tracer: tracer,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sys.Run(ctx) }()
	err = controller.Scenario{}.Run(ctx, sys, io.Discard)
	cancel()
	if runErr := <-done; err != nil || runErr != nil {
		t.Fatalf("scenario %v, run %v", err, runErr)
	}

	spans := exporter.GetSpans()
	byID := map[string]tracetest.SpanStub{}
	count := map[string]int{}
	for _, s := range spans {
		byID[s.SpanContext.SpanID().String()] = s
		count[s.Name]++
	}
	if count["reconcile replicaset"] == 0 || count["reconcile node-agent"] == 0 {
		t.Fatalf("reconcile spans by name: %v", count)
	}
	creates := 0
	for _, s := range spans {
		if s.Name != "create nsA/rsA-0" && s.Name != "create nsA/rsA-1" && s.Name != "create nsA/rsA-2" {
			continue
		}
		creates++
		if parent, ok := byID[s.Parent.SpanID().String()]; !ok || parent.Name != "reconcile replicaset" {
			t.Errorf("%s's parent is %q, want a replicaset reconcile", s.Name, parent.Name)
		}
	}
	if creates < 3 || count["update_status nsA/rsA-0"] == 0 {
		t.Errorf("write spans: %d creates (want at least 3), spans by name %v", creates, count)
	}
}
