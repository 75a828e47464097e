package inspect_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/inspect"
	"github.com/controlloop/controlloop/reconcile"
)

// ExampleHandler serves one controller's state and reads it back as JSON.
func ExampleHandler() {
	ctl, err := reconcile.New(reconcile.Func[reconcile.Request](func(context.Context, reconcile.Request) (reconcile.Result, error) {
		return reconcile.Result{}, nil
	}), reconcile.Options[reconcile.Request]{Name: "replicaset", Introspect: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		panic(err)
	}
	ctl.Queue().Add(controlloop.Key{Namespace: "default", Name: "web"}) // not running: it stays queued

	h, err := inspect.New(inspect.Options{})
	if err != nil {
		panic(err)
	}
	if err := inspect.AddController(h, ctl); err != nil {
		panic(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/state?state=queued&namespace=default", nil))

	var state inspect.State
	if err := json.NewDecoder(rec.Body).Decode(&state); err != nil {
		panic(err)
	}
	c := state.Controllers[0]
	fmt.Println("schema", state.SchemaVersion, "controller", c.Name)
	for _, k := range c.Keys {
		fmt.Println(k.Key, k.State)
	}
	// Output:
	// schema 1 controller replicaset
	// default/web queued
}
