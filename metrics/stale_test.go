package metrics_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/metrics"
	"github.com/controlloop/controlloop/reconcile"
	"github.com/controlloop/controlloop/reflector"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestStaleCacheMetrics: the gating's counters and the applied version
// of a controller's cache, as a scrape shows them, with the controller
// label; a controller fed by a real informer reports the version its cache
// applied.
func TestStaleCacheMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m, err := metrics.NewControllerProvider(reg)
	if err != nil {
		t.Fatal(err)
	}
	stale, ok := m.ForController("rs", 1).(reconcile.StaleCacheMetrics)
	if !ok {
		t.Fatal("the controller metrics do not implement reconcile.StaleCacheMetrics")
	}
	stale.StaleSyncSkipped()
	stale.StaleSyncSkipped()
	stale.StaleSyncTimedOut()
	stale.StoreResourceVersion("pods", "42")
	stale.StoreResourceVersion("pods", "opaque") // not a number: not reported
	want := `
# HELP stale_sync_skips_total Total number of reconciles put off because a cache the controller reads had not applied the request's own earlier write
# TYPE stale_sync_skips_total counter
stale_sync_skips_total{controller="rs"} 2
# HELP controlloop_stale_sync_timeouts_total Total number of requests reconciled although a cache still lacked their own earlier write after the stale-cache timeout
# TYPE controlloop_stale_sync_timeouts_total counter
controlloop_stale_sync_timeouts_total{controller="rs"} 1
# HELP store_resource_version Newest resource version of its source that each cache the controller reads has applied (sources with decimal versions only)
# TYPE store_resource_version gauge
store_resource_version{controller="rs",informer="pods"} 42
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"stale_sync_skips_total", "controlloop_stale_sync_timeouts_total", "store_resource_version"); err != nil {
		t.Fatal(err)
	}

	synctest.Test(t, func(t *testing.T) {
		reg := prometheus.NewPedanticRegistry()
		m, err := metrics.NewControllerProvider(reg)
		if err != nil {
			t.Fatal(err)
		}
		store, err := memstore.New[*Pod](memstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		inf, err := informer.New[*Pod](store, informer.Options[*Pod]{Name: "pods", Logger: discard, Reflector: reflector.Options{Logger: discard}})
		if err != nil {
			t.Fatal(err)
		}
		ctl, err := reconcile.New[reconcile.Request](reconcile.Func[reconcile.Request](func(context.Context, reconcile.Request) (reconcile.Result, error) {
			return reconcile.Result{}, nil
		}), reconcile.Options[reconcile.Request]{Name: "pods", Logger: discard, Metrics: m})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := reconcile.Watch(ctl, inf, reconcile.ForObject[*Pod]()); err != nil {
			t.Fatal(err)
		}
		var mgr reconcile.Manager
		mgr.AddCache(inf)
		mgr.AddController(ctl)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- mgr.Run(ctx) }()
		for _, name := range []string{"a", "b", "c"} {
			if _, err := store.Create(ctx, &Pod{ObjectMeta: controlloop.ObjectMeta{Name: name}}); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(time.Second) // virtual: past the controller's wait for the cache
		synctest.Wait()
		if got := scrape(t, reg)[`store_resource_version{informer="pods"}`]; got != 3 {
			t.Errorf("store_resource_version = %v after three writes, want 3", got)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))
