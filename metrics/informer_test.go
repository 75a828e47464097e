package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/metrics"
	"github.com/controlloop/controlloop/reflector"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

type Pod struct{ controlloop.ObjectMeta }

var errDown = errors.New("source down")

// informerMetrics is the scrape of the informer metrics of the informer
// called pods, with errors counted as list, watch, expired and store.
func informerMetrics(last float64, healthy, synced int, errs [4]int) string {
	return fmt.Sprintf(`
# HELP controlloop_informer_errors_total Total number of lists and watches of the informer's source that failed, by kind: list, watch, expired (the version was too old) or store.
# TYPE controlloop_informer_errors_total counter
controlloop_informer_errors_total{kind="expired",name="pods"} %d
controlloop_informer_errors_total{kind="list",name="pods"} %d
controlloop_informer_errors_total{kind="store",name="pods"} %d
controlloop_informer_errors_total{kind="watch",name="pods"} %d
# HELP controlloop_informer_healthy 1 when the informer is not failing to list or watch its source, 0 while it is.
# TYPE controlloop_informer_healthy gauge
controlloop_informer_healthy{name="pods"} %d
# HELP controlloop_informer_last_success_timestamp_seconds Unix time at which the informer's source last answered (a list page, a watch event or a bookmark); 0 before the first.
# TYPE controlloop_informer_last_success_timestamp_seconds gauge
controlloop_informer_last_success_timestamp_seconds{name="pods"} %v
# HELP controlloop_informer_synced 1 once the informer's cache holds the source's first list, else 0.
# TYPE controlloop_informer_synced gauge
controlloop_informer_synced{name="pods"} %d
`, errs[2], errs[0], errs[3], errs[1], healthy, last, synced)
}

// TestInformerMetricsThroughOutage is issue 13, item 3 as a scrape shows
// it: during a minute-long outage the informer is unhealthy, still synced,
// its last success stays at the last list and its failed lists and watches
// are counted; after it, it is healthy with a fresh last success.
func TestInformerMetricsThroughOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := prometheus.NewPedanticRegistry()
		provider, err := metrics.NewInformerProvider(reg)
		if err != nil {
			t.Fatal(err)
		}
		store, err := memstore.New[*Pod](memstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		src := store
		quiet := slog.New(slog.DiscardHandler)
		inf, err := informer.New[*Pod](src, informer.Options[*Pod]{
			Name: "pods", Metrics: provider, Logger: quiet,
			Reflector: reflector.Options{Logger: quiet, Jitter: -1},
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := testutil.GatherAndCompare(reg, strings.NewReader(informerMetrics(0, 1, 0, [4]int{}))); err != nil {
			t.Errorf("before Run: %v", err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- inf.Run(ctx) }()
		synctest.Wait()
		listed := float64(time.Now().Unix())
		if err := testutil.GatherAndCompare(reg, strings.NewReader(informerMetrics(listed, 1, 1, [4]int{}))); err != nil {
			t.Errorf("after the first list: %v", err)
		}

		time.Sleep(10 * time.Second)
		src.SetUnavailable(errDown)
		time.Sleep(time.Minute)
		synctest.Wait()
		// A short watch, retried at once (it followed the list): a failed
		// Watch call, then (backing off 800ms, 1.6s, 3.2s, ...) lists at
		// 10.8s, 12.4s, 15.6s, 22s, 34.8s and 60.4s.
		if err := testutil.GatherAndCompare(reg, strings.NewReader(informerMetrics(listed, 0, 1, [4]int{6, 2, 0, 0}))); err != nil {
			t.Errorf("a minute into the outage: %v", err)
		}

		src.SetUnavailable(nil)
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := testutil.ToFloat64(gaugeOf(t, reg, "controlloop_informer_healthy")); got != 1 {
			t.Errorf("after the outage: healthy = %v, want 1", got)
		}
		if got := testutil.ToFloat64(gaugeOf(t, reg, "controlloop_informer_last_success_timestamp_seconds")); got <= listed+70 {
			t.Errorf("after the outage: last success = %v, want after the outage's end (%v)", got, listed+70)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
}

// TestInformerMetricsByKind checks how failures are counted, and that the
// gauges are read from the health function at scrape time.
func TestInformerMetricsByKind(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	provider, err := metrics.NewInformerProvider(reg)
	if err != nil {
		t.Fatal(err)
	}
	var health atomic.Pointer[informer.Health]
	health.Store(&informer.Health{})
	m := provider.ForInformer("pods", func() informer.Health { return *health.Load() })
	boom := errors.New("boom")
	for _, err := range []error{
		fmt.Errorf("%w: %w", reflector.ErrList, boom),
		fmt.Errorf("%w: %w", reflector.ErrList, controlloop.ErrExpired), // a continue token
		fmt.Errorf("%w: %w", reflector.ErrWatch, boom),
		reflector.ErrShortWatch,
		fmt.Errorf("%w: %w", reflector.ErrWatch, controlloop.ErrExpired),
		fmt.Errorf("%w: replace: %w", reflector.ErrStore, boom),
		fmt.Errorf("%w: replace: %w", reflector.ErrStore, boom),
	} {
		m.Failed(err)
	}
	last := time.Unix(1700000000, 500_000_000)
	health.Store(&informer.Health{Health: reflector.Health{LastSuccess: last, Err: boom, FailingSince: last}, Synced: true})
	if err := testutil.GatherAndCompare(reg, strings.NewReader(informerMetrics(1.7000000005e9, 0, 1, [4]int{1, 2, 2, 2}))); err != nil {
		t.Error(err)
	}
}

// TestSecondInformerTakesOverHealth gives two informers one name: the
// health gauges follow the second, one series per name.
func TestSecondInformerTakesOverHealth(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	provider, err := metrics.NewInformerProvider(reg)
	if err != nil {
		t.Fatal(err)
	}
	provider.ForInformer("pods", func() informer.Health { return informer.Health{Synced: false} })
	provider.ForInformer("pods", func() informer.Health { return informer.Health{Synced: true} })
	if got := testutil.ToFloat64(gaugeOf(t, reg, "controlloop_informer_synced")); got != 1 {
		t.Errorf("synced = %v, want the second informer's 1", got)
	}
	if n, err := testutil.GatherAndCount(reg, "controlloop_informer_synced"); err != nil || n != 1 {
		t.Errorf("%d synced series (%v), want 1 per name", n, err)
	}
}

func TestNewInformerProviderTwiceOnOneRegistryFails(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := metrics.NewInformerProvider(reg); err != nil {
		t.Fatal(err)
	}
	if _, err := metrics.NewInformerProvider(reg); err == nil {
		t.Fatal("registering the informer metrics twice on one registry succeeded")
	}
}
