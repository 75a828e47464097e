package otel_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/memstore"
	ctlotel "github.com/controlloop/controlloop/otel"
	"github.com/controlloop/controlloop/reconcile"
)

type Pod struct{ controlloop.ObjectMeta }

func (p *Pod) DeepCopy() *Pod { c := *p; return &c }

func attrs(kv []attribute.KeyValue) map[string]string {
	m := map[string]string{}
	for _, a := range kv {
		m[string(a.Key)] = a.Value.String()
	}
	return m
}

// TestSpans runs a controller whose first reconcile fails and whose retry
// creates a Pod, and checks what OpenTelemetry's in-memory exporter
// received: a span per reconcile with its attributes and status, and the
// create's span as the retry's child.
func TestSpans(t *testing.T) {
	exporter := tracetest.NewInMemoryExporter()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
	defer provider.Shutdown(context.Background())
	tracer, err := ctlotel.NewTracer(provider.Tracer("test"))
	if err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		store, err := memstore.New[*Pod](memstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		pods := reconcile.TracedClient[*Pod](store, tracer)
		attempts := 0
		c, err := reconcile.New(reconcile.Func[reconcile.Request](func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
			if attempts++; attempts == 1 {
				return reconcile.Result{}, errors.New("not yet")
			}
			_, err := pods.Create(ctx, &Pod{controlloop.ObjectMeta{Namespace: req.Namespace, Name: req.Name + "-0"}})
			return reconcile.Result{}, err
		}), reconcile.Options[reconcile.Request]{Name: "rs", Tracer: tracer, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- c.Run(ctx) }()
		c.Queue().Add(reconcile.Request{Namespace: "ns", Name: "web"})
		time.Sleep(time.Second) // the retry is due after 5ms
		synctest.Wait()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})

	spans := exporter.GetSpans()
	var got []map[string]string
	for _, s := range spans {
		a := attrs(s.Attributes)
		delete(a, "controlloop.reconcile_id")
		a["name"], a["status"] = s.Name, s.Status.Code.String()
		got = append(got, a)
	}
	want := []map[string]string{
		{"name": "reconcile rs", "status": codes.Error.String(), "controlloop.controller": "rs", "controlloop.request": "ns/web",
			"controlloop.reason": "direct", "controlloop.reason_label": "direct", "controlloop.retries": "0", "controlloop.outcome": "error"},
		{"name": "create ns/web-0", "status": codes.Unset.String(), "controlloop.op": "create", "controlloop.key": "ns/web-0"},
		{"name": "reconcile rs", "status": codes.Unset.String(), "controlloop.controller": "rs", "controlloop.request": "ns/web",
			"controlloop.reason": "retry", "controlloop.reason_label": "retry", "controlloop.retries": "1", "controlloop.outcome": "success"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("spans (-want +got):\n%s", diff)
	}
	if write, retry := spans[1], spans[2]; write.Parent.SpanID() != retry.SpanContext.SpanID() || write.SpanContext.TraceID() != retry.SpanContext.TraceID() {
		t.Errorf("the create's span is not the retry's child: parent %v, retry %v", write.Parent.SpanID(), retry.SpanContext.SpanID())
	}
	if id := attrs(spans[0].Attributes)["controlloop.reconcile_id"]; len(id) != 16 {
		t.Errorf("reconcile id = %q, want 16 hex digits", id)
	}
	if len(spans[0].Events) == 0 || spans[0].Events[0].Name != "exception" {
		t.Errorf("the failed reconcile's span records no error: %+v", spans[0].Events)
	}
}

func TestNewTracerRefusesNil(t *testing.T) {
	if _, err := ctlotel.NewTracer(nil); !errors.Is(err, controlloop.ErrInvalid) {
		t.Errorf("NewTracer(nil) = %v, want ErrInvalid", err)
	}
}
