package reconcile_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/reconcile"
)

// spanRecorder is a Tracer that writes down each span as a line; a write's
// line names the reconcile whose context it ran in.
type spanRecorder struct {
	mu    sync.Mutex
	spans []string
}

type spanKey struct{}

func (r *spanRecorder) add(s string) {
	r.mu.Lock()
	r.spans = append(r.spans, s)
	r.mu.Unlock()
}

func (r *spanRecorder) StartReconcile(ctx context.Context, s reconcile.ReconcileSpan) (context.Context, func(reconcile.ReconcileEnd)) {
	if s.ReconcileID == "" || s.ReconcileID != reconcile.ReconcileID(ctx) {
		r.add("bad reconcile id " + s.ReconcileID)
	}
	return context.WithValue(ctx, spanKey{}, s.Request), func(e reconcile.ReconcileEnd) {
		r.add(fmt.Sprintf("%s %s reason=%s retries=%d: %s err=%v", s.Controller, s.Request, s.Reason.Label(), s.Retries, e.Outcome, e.Err))
	}
}

func (r *spanRecorder) StartWrite(ctx context.Context, op string, key controlloop.Key) (context.Context, func(error)) {
	parent, _ := ctx.Value(spanKey{}).(string)
	return ctx, func(err error) { r.add(fmt.Sprintf("  %s %s in %s: %v", op, key, parent, err)) }
}

// TestTracer: a span per reconcile with its reason, retries and outcome,
// and a span per write through TracedClient, inside the reconcile's.
func TestTracer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store, err := memstore.New[*Pod](memstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		tr := &spanRecorder{}
		client := reconcile.TracedClient[*Pod](store, tr)
		attempts := 0
		c, err := reconcile.New(reconcile.Func[reconcile.Request](func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
			if attempts++; attempts == 1 {
				return reconcile.Result{}, errors.New("first try")
			}
			_, err := client.Create(ctx, pod(req.Name, ""))
			return reconcile.Result{}, err
		}), reconcile.Options[reconcile.Request]{Name: "rs", Tracer: tr, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		stop := run(c)
		c.Queue().Add(reconcile.Request{Namespace: "ns", Name: "a"})
		time.Sleep(time.Second) // the retry is due after 5ms
		synctest.Wait()
		stop()
		want := []string{
			"rs ns/a reason=direct retries=0: error err=first try",
			"  create ns/a in ns/a: <nil>",
			"rs ns/a reason=retry retries=1: success err=<nil>",
		}
		if diff := cmp.Diff(want, tr.spans); diff != "" {
			t.Errorf("spans (-want +got):\n%s", diff)
		}
	})
}
