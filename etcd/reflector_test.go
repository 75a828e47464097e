package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/etcd"
	"github.com/controlloop/controlloop/etcd/etcdtest"
	"github.com/controlloop/controlloop/reflector"
)

var quietLog = slog.New(slog.DiscardHandler)

// runReflector runs a reflector from lw into a new map sink until the test
// ends, and returns the sink and the errors it reported.
func runReflector(t testing.TB, lw controlloop.ListerWatcher[*Pod], opts reflector.Options) (*reflector.Reflector[*Pod], *mapSink, *errorLog) {
	t.Helper()
	sink := newMapSink()
	errs := &errorLog{}
	opts.WatchErrorHandler = errs.add
	opts.Logger = quietLog
	if opts.InitialBackoff == 0 {
		opts.InitialBackoff, opts.MaxBackoff = 10*time.Millisecond, 100*time.Millisecond
	}
	r, err := reflector.New(lw, sink, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { r.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return r, sink, errs
}

// errorLog records the errors a reflector reports.
type errorLog struct {
	mu   sync.Mutex // protects errs
	errs []error
}

func (l *errorLog) add(err error) {
	l.mu.Lock()
	l.errs = append(l.errs, err)
	l.mu.Unlock()
}

func (l *errorLog) any(target error) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, err := range l.errs {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// gate is a ListerWatcher that lets a test end the open watches and hold
// new ones back, to make the reflector resume from an old version.
type gate struct {
	controlloop.ListerWatcher[*Pod]

	mu      sync.Mutex // protects the fields below
	cancels []context.CancelFunc
	held    chan struct{} // if not nil, Watch waits until it is closed
}

func (g *gate) Watch(ctx context.Context, opts controlloop.WatchOptions) (<-chan controlloop.Event[*Pod], error) {
	g.mu.Lock()
	held := g.held
	g.mu.Unlock()
	if held != nil {
		select {
		case <-held:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	g.mu.Lock()
	g.cancels = append(g.cancels, cancel)
	g.mu.Unlock()
	return g.ListerWatcher.Watch(ctx, opts)
}

// hold ends every open watch and holds new ones until release is called.
func (g *gate) hold() (release func()) {
	held := make(chan struct{})
	g.mu.Lock()
	g.held = held
	for _, c := range g.cancels {
		c()
	}
	g.cancels = nil
	g.mu.Unlock()
	return func() {
		g.mu.Lock()
		g.held = nil
		g.mu.Unlock()
		close(held)
	}
}

// createPods creates n pods named prefix-i in namespace ns.
func createPods(t testing.TB, ctx context.Context, src *etcd.Source[*Pod], ns, prefix string, n int) {
	t.Helper()
	for i := range n {
		if _, err := src.Create(ctx, pod(ns, fmt.Sprintf("%s-%d", prefix, i), map[string]string{"i": strconv.Itoa(i % 2)})); err != nil {
			t.Fatal(err)
		}
	}
}

// mutate updates every odd pod and deletes every pod divisible by 3.
func mutate(t testing.TB, ctx context.Context, src *etcd.Source[*Pod]) {
	t.Helper()
	res, err := src.List(ctx, controlloop.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range res.Items {
		switch {
		case i%3 == 0:
			if err := src.Delete(ctx, controlloop.KeyOf(p), controlloop.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		case i%2 == 1:
			p.Spec = "changed"
			p.Labels["i"] = "x"
			if _, err := src.Update(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestReflectorRelistsAfterCompaction: the reflector's watch resumes from
// a version etcd has compacted; it gets ErrExpired, lists again, and its
// store converges.
func TestReflectorRelistsAfterCompaction(t *testing.T) {
	e := newEnv(t, etcdtest.Options{})
	ctx := testContext(t, 60*time.Second)
	createPods(t, ctx, e.src, "ns", "p", 20)

	for i, sel := range []controlloop.Selector{{}, {Labels: map[string]string{"i": "1"}}} {
		t.Run(fmt.Sprintf("labels=%v", sel.Labels), func(t *testing.T) {
			g := &gate{ListerWatcher: e.src}
			r, sink, errs := runReflector(t, g, reflector.Options{Selector: sel, PageSize: 7})
			eventually(t, wait, "initial sync", func() bool { return r.LastSyncResourceVersion() != "" && converged(t, ctx, sink, e.src, sel) })
			replaces := sink.Replaces()

			release := g.hold()
			mutate(t, ctx, e.src)
			createPods(t, ctx, e.src, "ns", "q"+strconv.Itoa(i), 5)
			resp, err := e.client.Get(ctx, "/")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.client.Compact(ctx, resp.Header.Revision); err != nil {
				t.Fatal(err)
			}
			release()

			eventually(t, wait, "convergence after compaction", func() bool { return converged(t, ctx, sink, e.src, sel) })
			if !errs.any(controlloop.ErrExpired) {
				t.Error("the reflector saw no ErrExpired")
			}
			if sink.Replaces() <= replaces {
				t.Error("the reflector did not list again")
			}
		})
	}
}

// TestReflectorSurvivesRestart: the etcd server is stopped and restarted on
// its data directory while the reflector watches; writes before, during
// the restart window and after all reach the store.
func TestReflectorSurvivesRestart(t *testing.T) {
	e := newEnv(t, etcdtest.Options{})
	ctx := testContext(t, 60*time.Second)
	createPods(t, ctx, e.src, "ns", "a", 10)
	r, sink, _ := runReflector(t, e.src, reflector.Options{})
	eventually(t, wait, "initial sync", func() bool {
		return r.LastSyncResourceVersion() != "" && converged(t, ctx, sink, e.src, controlloop.Selector{})
	})

	mutate(t, ctx, e.src) // possibly still in flight to the watcher
	e.srv.Stop()
	t0 := time.Now()
	if err := e.srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	createPods(t, ctx, e.src, "ns", "b", 10)
	mutate(t, ctx, e.src)
	eventually(t, wait, "convergence after restart", func() bool { return converged(t, ctx, sink, e.src, controlloop.Selector{}) })
	t.Logf("converged %v after the restart", time.Since(t0).Round(time.Millisecond))

	// A cut connection (a network blip) is healed by the client alone.
	e.srv.CutConnections()
	eventually(t, wait, "the client to reconnect", func() bool {
		_, err := e.client.Get(ctx, "/")
		return err == nil
	})
	createPods(t, ctx, e.src, "ns", "c", 5)
	eventually(t, wait, "convergence after a cut connection", func() bool { return converged(t, ctx, sink, e.src, controlloop.Selector{}) })
}

// TestReflectorSeesLostConnection (issue 13, item 3): when etcd stops, the
// reflector's WatchErrorHandler receives an error wrapping ErrUnavailable
// (the watch used to stay open and silent); once etcd is back, the
// reflector sees a new write.
func TestReflectorSeesLostConnection(t *testing.T) {
	forEachServer(t, func(t *testing.T, opts etcdtest.Options) {
		e := newEnv(t, opts)
		ctx := testContext(t, 60*time.Second)
		src := newSourceWith(t, e.client, etcd.Options{UnavailableAfter: 200 * time.Millisecond, Logger: quietLog})
		if _, err := src.Create(ctx, pod("ns", "a", nil)); err != nil {
			t.Fatal(err)
		}
		_, sink, errs := runReflector(t, src, reflector.Options{})
		eventually(t, wait, "the first list", func() bool { return sink.Len() == 1 })
		e.srv.Stop()
		eventually(t, wait, "ErrUnavailable reported", func() bool { return errs.any(etcd.ErrUnavailable) })
		if err := e.srv.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := src.Create(ctx, pod("ns", "b", nil)); err != nil {
			t.Fatal(err)
		}
		eventually(t, wait, "the cache to catch up", func() bool { return converged(t, ctx, sink, src, controlloop.Selector{}) })
	})
}
