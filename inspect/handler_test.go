package inspect_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/inspect"
	"github.com/controlloop/controlloop/reconcile"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestSchema pins the JSON field names and types of schema version 1: a
// change here breaks readers of api/v1/state, and needs a new version.
func TestSchema(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := inspect.State{
		SchemaVersion: inspect.SchemaVersion, Time: at,
		Controllers: []inspect.Controller{{
			Name: "rs", Introspect: true, Queue: inspect.Queue{Queued: 1, Waiting: 2, Processing: 3},
			Bindings: []inspect.Binding{{Informer: "pods", CacheSynced: true, Synced: true, Delivered: 4, Total: 4, TotalKnown: true, Pending: 0}},
			Keys: []inspect.Key{{Key: "ns/a", Namespace: "ns", State: "waiting", Priority: -1, ReadyAt: &at, Requeued: false, Retries: 2,
				Last: &inspect.Reconcile{ReconcileID: "00ff", Reason: "retry", ReasonLabel: "retry", Outcome: "error", Terminal: false,
					Error: "boom", Started: at, Seconds: 0.5, Reconciles: 3}}},
			Truncated: false,
		}},
		Caches: []inspect.Cache{{Name: "pods", Synced: true, Healthy: true, Objects: 7}},
	}
	got, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"schemaVersion":1,"time":"2026-01-02T03:04:05Z","controllers":[{"name":"rs","introspect":true,` +
		`"queue":{"queued":1,"waiting":2,"processing":3},` +
		`"bindings":[{"informer":"pods","cacheSynced":true,"synced":true,"delivered":4,"total":4,"totalKnown":true,"pending":0}],` +
		`"keys":[{"key":"ns/a","namespace":"ns","state":"waiting","priority":-1,"readyAt":"2026-01-02T03:04:05Z","requeued":false,"retries":2,` +
		`"last":{"reconcileID":"00ff","reason":"retry","reasonLabel":"retry","outcome":"error","terminal":false,"error":"boom",` +
		`"started":"2026-01-02T03:04:05Z","seconds":0.5,"reconciles":3}}],"truncated":false}],` +
		`"caches":[{"name":"pods","synced":true,"healthy":true,"objects":7}]}`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("schema v1 JSON (-want +got):\n%s", diff)
	}
}

// newController runs an introspecting controller whose "fail" keys fail
// and whose "block" key blocks until its context ends; stop ends its Run
// and waits for it.
func newController(t *testing.T) (c *reconcile.Controller[reconcile.Request], stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c, err := reconcile.New(reconcile.Func[reconcile.Request](func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
		switch {
		case strings.HasPrefix(req.Name, "fail"):
			return reconcile.Result{}, errors.New("no quota for " + req.Name)
		case req.Name == "block":
			<-ctx.Done()
		}
		return reconcile.Result{}, nil
	}), reconcile.Options[reconcile.Request]{Name: "rs", Introspect: true, Logger: quiet, Workers: 2,
		RateLimiter: nil, ShutdownGracePeriod: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()
	return c, func() { cancel(); <-done }
}

func keysOf(t *testing.T, h http.Handler, query string) []string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/state"+query, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", query, rec.Code, rec.Body)
	}
	var s inspect.State
	if err := json.Unmarshal(rec.Body.Bytes(), &s); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, c := range s.Controllers {
		for _, k := range c.Keys {
			keys = append(keys, k.Key+" "+k.State)
		}
	}
	return keys
}

// TestFilters: the state, error and namespace filters select keys, over
// the queue's items and the idle keys the state table remembers.
func TestFilters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, stop := newController(t)
		h, err := inspect.New(inspect.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := inspect.AddController(h, c); err != nil {
			t.Fatal(err)
		}
		for _, k := range []controlloop.Key{{Namespace: "a", Name: "ok"}, {Namespace: "b", Name: "fail"}, {Namespace: "a", Name: "block"}} {
			c.Queue().Add(k)
		}
		synctest.Wait() // ok done, fail waiting for its retry, block processing
		tests := []struct{ query, want string }{
			{"", "b/fail waiting,a/block processing,a/ok idle"},
			{"?state=idle", "a/ok idle"},
			{"?error=true", "b/fail waiting"},
			{"?namespace=a", "a/block processing,a/ok idle"},
			{"?namespace=a&state=processing", "a/block processing"},
			{"?controller=other", ""},
		}
		for _, tt := range tests {
			if got := strings.Join(keysOf(t, h, tt.query), ","); got != tt.want {
				t.Errorf("keys for %q = %q, want %q", tt.query, got, tt.want)
			}
		}
		stop()
	})
}

// TestStateFields: a failing key carries its error and reason; MaxKeys
// truncates, and says so.
func TestStateFields(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, stop := newController(t)
		h, _ := inspect.New(inspect.Options{MaxKeys: 1})
		inspect.AddController(h, c)
		c.Queue().Add(controlloop.Key{Namespace: "b", Name: "fail"})
		c.Queue().Add(controlloop.Key{Namespace: "b", Name: "fail2"})
		synctest.Wait()
		s := h.State(inspect.Filter{})
		ctl := s.Controllers[0]
		if !ctl.Truncated || len(ctl.Keys) != 1 || ctl.Queue.Waiting != 2 {
			t.Fatalf("controller = %+v, want one key of two waiting, truncated", ctl)
		}
		k := ctl.Keys[0]
		if k.Last == nil || !strings.HasPrefix(k.Last.Error, "no quota for fail") || k.Last.Outcome != "error" || k.Last.ReasonLabel != "direct" || k.Retries != 1 || k.ReadyAt == nil {
			t.Errorf("failing key = %+v (last %+v), want its error, reason direct, 1 retry, a ready time", k, k.Last)
		}
		stop()
	})
}

// TestReadOnly: writes are refused, a bad filter is a 400 naming the
// rule, and the page is served with no external reference.
func TestReadOnly(t *testing.T) {
	h, err := inspect.New(inspect.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(m, "/api/v1/state", nil))
		if rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("%s = %d, want 405", m, rec.Code)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/state?state=stuck", nil))
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `inspect: state is "stuck": must be one of`) {
		t.Errorf("bad state = %d %q, want 400 naming the rule", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, "<table") || strings.Contains(body, "http://") || strings.Contains(body, "https://") {
		t.Errorf("page = %d, want the page with no external asset", rec.Code)
	}
}

func TestBadInput(t *testing.T) {
	if _, err := inspect.New(inspect.Options{MaxKeys: -1}); !errors.Is(err, controlloop.ErrInvalid) || !strings.HasPrefix(err.Error(), "inspect: Options.MaxKeys is -1: must not be negative") {
		t.Errorf("New(MaxKeys -1) = %v, want ErrInvalid", err)
	}
	if err := inspect.AddController[reconcile.Request](nil, nil); !errors.Is(err, controlloop.ErrInvalid) {
		t.Errorf("AddController(nil) = %v, want ErrInvalid", err)
	}
}
