package reconcile_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/reconcile"
)

// stepRunner records when it starts and stops.
type stepRunner struct {
	name string
	log  *[]string
	mu   *sync.Mutex
	hold time.Duration // keeps running this long after ctx ends
}

func (s stepRunner) Run(ctx context.Context) error {
	<-ctx.Done()
	time.Sleep(s.hold)
	s.mu.Lock()
	*s.log = append(*s.log, s.name+" stopped")
	s.mu.Unlock()
	return nil
}

func TestManagerStopsControllersBeforeCaches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var log []string
		var m reconcile.Manager
		m.AddCache(stepRunner{name: "cache", log: &log, mu: &mu})
		m.AddController(stepRunner{name: "controller", log: &log, mu: &mu, hold: 5 * time.Second})
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- m.Run(ctx) }()
		synctest.Wait()
		stop()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if want := []string{"controller stopped", "cache stopped"}; !slices.Equal(log, want) {
			t.Errorf("stop order %v, want %v", log, want)
		}
	})
}

type failingRunner struct{ err error }

func (f failingRunner) Run(context.Context) error { return f.err }

func TestManagerStopsAllWhenOneFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var log []string
		var m reconcile.Manager
		m.AddCache(stepRunner{name: "cache", log: &log, mu: &mu})
		m.AddController(failingRunner{err: reconcile.ErrCacheSyncTimeout})
		err := m.Run(context.Background())
		if err == nil || !slices.Equal(log, []string{"cache stopped"}) {
			t.Errorf("Run = %v with log %v; want the failure and the cache stopped", err, log)
		}
	})
}

// TestManagerJoinsEveryError runs caches and controllers that fail: Run
// returns every one of their errors, none dropped.
func TestManagerJoinsEveryError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cacheErr := errors.New("cache failed")
		lateErr := errors.New("cache failed while stopping")
		ctlErr1, ctlErr2 := errors.New("controller 1 failed"), errors.New("controller 2 failed")
		var m reconcile.Manager
		m.AddCache(failingRunner{err: cacheErr})
		m.AddCache(reconcile.RunnableFunc(func(ctx context.Context) error { <-ctx.Done(); return lateErr }))
		m.AddController(failingRunner{err: ctlErr1})
		m.AddController(failingRunner{err: ctlErr2})
		m.AddController(reconcile.RunnableFunc(func(ctx context.Context) error { <-ctx.Done(); return nil }))
		err := m.Run(context.Background())
		for _, want := range []error{cacheErr, lateErr, ctlErr1, ctlErr2} {
			if !errors.Is(err, want) {
				t.Errorf("Run = %v, lacks %q", err, want)
			}
		}
	})
}

// TestManagerRunOnce checks the lifecycle rule: a second Run, while the
// first runs and after it returned cleanly, fails at once with
// ErrAlreadyStarted and leaves the first alone.
func TestManagerRunOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var log []string
		var m reconcile.Manager
		m.AddController(stepRunner{name: "controller", log: &log, mu: &mu})
		stop := run(&m)
		synctest.Wait()
		if err := m.Run(context.Background()); !errors.Is(err, controlloop.ErrAlreadyStarted) {
			t.Fatalf("Run while running = %v, want ErrAlreadyStarted", err)
		}
		synctest.Wait()
		if len(log) != 0 {
			t.Fatalf("the second Run stopped the first's controller: %v", log)
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if err := m.Run(context.Background()); !errors.Is(err, controlloop.ErrAlreadyStarted) {
			t.Fatalf("Run after a clean stop = %v, want ErrAlreadyStarted", err)
		}
		if !slices.Equal(log, []string{"controller stopped"}) {
			t.Fatalf("log %v: the controller ran again", log)
		}
	})
}

// TestManagerRejectsNil adds a nil cache and a nil controller: Run fails
// at once with ErrInvalid naming them, and starts nothing.
func TestManagerRejectsNil(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		started := false
		var m reconcile.Manager
		m.AddCache(nil)
		m.AddController(reconcile.RunnableFunc(func(context.Context) error { started = true; return nil }))
		m.AddController(nil)
		err := m.Run(context.Background())
		if !errors.Is(err, controlloop.ErrInvalid) || started {
			t.Fatalf("Run = %v (started: %v), want ErrInvalid and nothing started", err, started)
		}
		for _, want := range []string{"cache 0 is nil", "controller 1 is nil"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Run = %v, lacks %q", err, want)
			}
		}
	})
}

// TestManagerIgnoresLateAdditions adds a controller once Run has started:
// it is not run, as the Manager's doc says.
func TestManagerIgnoresLateAdditions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var m reconcile.Manager
		stop := run(&m)
		synctest.Wait()
		var ran atomic.Bool
		m.AddController(reconcile.RunnableFunc(func(ctx context.Context) error { ran.Store(true); <-ctx.Done(); return nil }))
		time.Sleep(time.Second)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if ran.Load() {
			t.Fatal("a controller added after Run started was run")
		}
	})
}

// TestManagerLists: Caches and Controllers return what was added, in
// order, as copies the caller may change.
func TestManagerLists(t *testing.T) {
	var m reconcile.Manager
	var mu sync.Mutex
	var log []string
	c1, c2, ctl := stepRunner{name: "c1", log: &log, mu: &mu}, stepRunner{name: "c2", log: &log, mu: &mu}, stepRunner{name: "ctl", log: &log, mu: &mu}
	m.AddCache(c1)
	m.AddController(ctl)
	m.AddCache(c2)
	caches := m.Caches()
	if len(caches) != 2 || caches[0] != reconcile.Runnable(c1) || caches[1] != reconcile.Runnable(c2) {
		t.Fatalf("Caches() = %v, want [c1 c2]", caches)
	}
	if got := m.Controllers(); len(got) != 1 || got[0] != reconcile.Runnable(ctl) {
		t.Fatalf("Controllers() = %v, want [ctl]", got)
	}
	caches[0] = nil
	if m.Caches()[0] == nil {
		t.Fatal("changing what Caches returned changed the Manager")
	}
}
