package informer_test

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/reflector"
)

var errDown = errors.New("source down")

// recordingMetrics is a MetricsProvider that records what the informer
// tells it.
type recordingMetrics struct {
	mu     sync.Mutex // protects the fields below
	names  []string
	health func() informer.Health
	errs   []error
}

func (m *recordingMetrics) ForInformer(name string, health func() informer.Health) informer.Metrics {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.names = append(m.names, name)
	m.health = health
	return m
}

func (m *recordingMetrics) Failed(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.errs = append(m.errs, err)
}

func (m *recordingMetrics) failures() []error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.errs)
}

// TestHealthThroughOutage is issue 13, item 3: during a minute-long full
// outage the informer stayed synced and reported nothing. Now its Health
// shows the source's error, failing since the outage began, with the last
// success from before it, while the cache stays synced and keeps serving;
// the metrics and the watch error handler both see every failure; once the
// source is back, Health is healthy with a fresh LastSuccess and the cache
// has caught up with a change made during the outage.
func TestHealthThroughOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newStore(t)
		_, _ = store.Create(ctx, pod("ns", "a"))
		src := store
		metrics := &recordingMetrics{}
		var handled []error // the watch error handler runs on the reflector's goroutine
		var handledMu sync.Mutex
		inf := newInformer(t, src, informer.Options[*Pod]{Metrics: metrics, Reflector: reflector.Options{
			Logger: quiet,
			WatchErrorHandler: func(err error) {
				handledMu.Lock()
				handled = append(handled, err)
				handledMu.Unlock()
			},
		}})
		if h := inf.Health(); h != (informer.Health{}) {
			t.Errorf("before Run: Health() = %+v, want zero", h)
		}
		stop := start(inf)
		defer stop()
		synctest.Wait()
		listed := time.Now()
		if h := inf.Health(); !h.Synced || h.Err != nil || !h.LastSuccess.Equal(listed) {
			t.Errorf("after the first list: Health() = %+v, want synced and healthy", h)
		}
		if got := metrics.health(); got != inf.Health() {
			t.Errorf("the provider's health func reports %+v, want Health() %+v", got, inf.Health())
		}

		time.Sleep(10 * time.Second)
		outageStart := time.Now()
		src.SetUnavailable(errDown)
		time.Sleep(30 * time.Second)
		_, _ = store.Create(ctx, pod("ns", "b")) // behind the outage's back
		time.Sleep(30 * time.Second)
		synctest.Wait()
		h := inf.Health()
		if !h.Synced || !errors.Is(h.Err, errDown) || !h.FailingSince.Equal(outageStart) || !h.LastSuccess.Equal(listed) {
			t.Errorf("a minute into the outage: Health() = %+v, want synced, errDown failing since %v, last success %v", h, outageStart, listed)
		}
		if got := inf.Reader().Len(); got != 1 {
			t.Errorf("during the outage the cache holds %d objects, want the 1 it had", got)
		}
		failures := metrics.failures()
		handledMu.Lock()
		handledCopy := slices.Clone(handled)
		handledMu.Unlock()
		if len(failures) < 3 || !slices.Equal(failures, handledCopy) {
			t.Fatalf("metrics saw %d failures %v, the handler %v: want several, the same", len(failures), failures, handledCopy)
		}
		for _, err := range failures[1:] { // the first is the short watch the break caused
			if !errors.Is(err, errDown) {
				t.Errorf("metrics saw %v during the outage, want errDown", err)
			}
		}

		src.SetUnavailable(nil)
		recovery := time.Now()
		time.Sleep(time.Minute) // past the longest backoff
		synctest.Wait()
		h = inf.Health()
		if !h.Synced || h.Err != nil || !h.FailingSince.IsZero() || h.LastSuccess.Before(recovery) {
			t.Errorf("a minute after the outage: Health() = %+v, want healthy, last success after %v", h, recovery)
		}
		if got := inf.Reader().Len(); got != 2 {
			t.Errorf("after the outage the cache holds %d objects, want 2", got)
		}
	})
}

// TestHealthOfUnusableInformer checks that a nil or zero Informer reports
// the zero Health rather than panicking.
func TestHealthOfUnusableInformer(t *testing.T) {
	var nilInf *informer.Informer[*Pod]
	if h := nilInf.Health(); h != (informer.Health{}) {
		t.Errorf("nil Informer: Health() = %+v, want zero", h)
	}
	if h := new(informer.Informer[*Pod]).Health(); h != (informer.Health{}) {
		t.Errorf("zero Informer: Health() = %+v, want zero", h)
	}
}

// TestMetricsName checks the name an informer gives its metrics: Options.Name,
// or by default its type and selector, so that a factory's informers of one
// type are told apart.
func TestMetricsName(t *testing.T) {
	s := newStore(t)
	for _, c := range []struct {
		opts informer.Options[*Pod]
		want string
	}{
		{informer.Options[*Pod]{Name: "pods"}, "pods"},
		{informer.Options[*Pod]{}, "*informer_test.Pod"},
		{informer.Options[*Pod]{Reflector: reflector.Options{Selector: controlloop.Selector{
			Namespace: "default", Labels: map[string]string{"tier": "web", "app": "shop"},
		}}}, "*informer_test.Pod namespace=default labels=app=shop,tier=web"},
	} {
		m := &recordingMetrics{}
		c.opts.Metrics = m
		newInformer(t, s, c.opts)
		if !slices.Equal(m.names, []string{c.want}) {
			t.Errorf("Options %+v: ForInformer called with %q, want [%q]", c.opts, m.names, c.want)
		}
	}
}

// TestReady checks what a readiness probe sees: not synced before the first
// list, ready once synced, and the source's error, naming the informer,
// while it fails; ready again once it recovers.
func TestReady(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newStore(t)
		inf := newInformer(t, src, informer.Options[*Pod]{Name: "pods"})
		if err := inf.Ready(); !errors.Is(err, informer.ErrNotSynced) || err.Error() != "informer: not synced: pods" {
			t.Errorf("before Run: Ready() = %v, want ErrNotSynced naming pods", err)
		}
		stop := start(inf)
		defer stop()
		synctest.Wait()
		if err := inf.Ready(); err != nil {
			t.Errorf("once synced: Ready() = %v, want nil", err)
		}
		src.SetUnavailable(errDown)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		err := inf.Ready()
		if !errors.Is(err, errDown) || errors.Is(err, informer.ErrNotSynced) ||
			!strings.HasPrefix(err.Error(), "informer: pods failing since 2000-01-01T00:00:00Z: reflector: ") {
			t.Errorf("during an outage: Ready() = %v, want the source's error, naming pods and when it began", err)
		}
		src.SetUnavailable(nil)
		time.Sleep(time.Minute)
		synctest.Wait()
		if err := inf.Ready(); err != nil {
			t.Errorf("after the outage: Ready() = %v, want nil", err)
		}
	})
	var nilInf *informer.Informer[*Pod]
	if err := nilInf.Ready(); !errors.Is(err, controlloop.ErrInvalid) {
		t.Errorf("nil Informer: Ready() = %v, want ErrInvalid", err)
	}
}

// TestFactoryReady checks that a factory is ready when all its informers
// are, and otherwise reports each one that is not.
func TestFactoryReady(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var f informer.Factory
		if err := f.Ready(); err != nil {
			t.Errorf("a Factory with no informer: Ready() = %v, want nil", err)
		}
		up := newStore(t)
		down := newStore(t)
		down.SetUnavailable(errDown)
		for _, c := range []struct {
			lw  controlloop.ListerWatcher[*Pod]
			sel controlloop.Selector
		}{{up, controlloop.Selector{Namespace: "a"}}, {down, controlloop.Selector{Namespace: "b"}}} {
			if _, err := informer.Shared(&f, c.lw, informer.Options[*Pod]{Logger: quiet, Reflector: reflector.Options{Logger: quiet, Selector: c.sel}}); err != nil {
				t.Fatal(err)
			}
		}
		stop := start(&f)
		defer stop()
		synctest.Wait()
		err := f.Ready()
		if !errors.Is(err, informer.ErrNotSynced) || !errors.Is(err, errDown) {
			t.Fatalf("one informer down: Ready() = %v, want it not synced and failing", err)
		}
		for _, want := range []string{"informer: not synced: *informer_test.Pod namespace=b", "informer: *informer_test.Pod namespace=b failing since"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Ready() = %q, want it to say %q", err, want)
			}
		}
		if strings.Contains(err.Error(), "namespace=a") {
			t.Errorf("Ready() = %q names the informer that is ready", err)
		}
		down.SetUnavailable(nil)
		time.Sleep(time.Minute)
		synctest.Wait()
		if err := f.Ready(); err != nil {
			t.Errorf("once both are up: Ready() = %v, want nil", err)
		}
	})
	var nilFactory *informer.Factory
	if err := nilFactory.Ready(); !errors.Is(err, controlloop.ErrInvalid) {
		t.Errorf("nil Factory: Ready() = %v, want ErrInvalid", err)
	}
}
