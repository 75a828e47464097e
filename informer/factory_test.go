package informer_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/indexer"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/reflector"
)

// Node is a second object type, so that a factory holds two informers.
type Node struct{ controlloop.ObjectMeta }

func quietOpts[T controlloop.Object](sel controlloop.Selector) informer.Options[T] {
	return informer.Options[T]{Logger: quiet, Reflector: reflector.Options{Logger: quiet, Selector: sel}}
}

// TestFactoryRunOnce checks the lifecycle rule for a Factory: a second Run,
// while the first runs and after it returned, returns at once an error
// wrapping ErrAlreadyStarted and leaves the first alone; the first runs the
// informers created before and while it runs, and returns nil when its
// context ends.
func TestFactoryRunOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStore(t)
		_, _ = s.Create(ctx, pod("ns", "a"))
		var f informer.Factory
		before, err := informer.Shared(&f, s, quietOpts[*Pod](controlloop.Selector{}))
		if err != nil {
			t.Fatal(err)
		}
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- f.Run(runCtx) }()
		synctest.Wait()
		if err := f.Run(ctx); !errors.Is(err, controlloop.ErrAlreadyStarted) {
			t.Errorf("Run while running = %v, want ErrAlreadyStarted", err)
		}
		during, err := informer.Shared(&f, s, quietOpts[*Pod](controlloop.Selector{Namespace: "ns"}))
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if !before.HasSynced() || !during.HasSynced() || !f.HasSynced() {
			t.Errorf("synced: before %v, during %v, factory %v; want all true", before.HasSynced(), during.HasSynced(), f.HasSynced())
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run after its context ended = %v, want nil", err)
		}
		// Its own refusal, not its informers' failure to run again.
		if err := f.Run(ctx); !errors.Is(err, controlloop.ErrAlreadyStarted) || err.Error() != "informer: Factory.Run: controlloop: already started" {
			t.Errorf("Run after Run returned = %v, want ErrAlreadyStarted", err)
		}
	})
}

// TestFactoryJoinsInformerErrors checks that an informer that fails stops
// the factory's Run at once, and that Run returns every informer's error,
// joined: none is dropped.
func TestFactoryJoinsInformerErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var f informer.Factory
		pods, err := informer.Shared(&f, newStore(t), quietOpts[*Pod](controlloop.Selector{}))
		if err != nil {
			t.Fatal(err)
		}
		nodeStore, err := newNodeStore()
		if err != nil {
			t.Fatal(err)
		}
		nodes, err := informer.Shared(&f, nodeStore, quietOpts[*Node](controlloop.Selector{}))
		if err != nil {
			t.Fatal(err)
		}
		// Start both reflectors first: each informer's Run of its own fails.
		reflCtx, stopRefl := context.WithCancel(ctx)
		defer stopRefl()
		go func() { _ = pods.Reflector().Run(reflCtx) }()
		go func() { _ = nodes.Reflector().Run(reflCtx) }()
		synctest.Wait()

		err = f.Run(ctx) // ctx never ends: only the failures can end Run
		if !errors.Is(err, controlloop.ErrAlreadyStarted) {
			t.Fatalf("Run = %v, want the informers' errors", err)
		}
		joined, ok := err.(interface{ Unwrap() []error })
		if !ok || len(joined.Unwrap()) != 2 {
			t.Errorf("Run = %q, want both informers' errors joined", err)
		}
		if n := strings.Count(err.Error(), "informer: reflector stopped"); n != 2 {
			t.Errorf("Run = %q, want two informer errors", err)
		}
		stopRefl()
		synctest.Wait()
	})
}

// TestSharedRefusesAnotherSource checks that Shared refuses to hand out an
// informer for a type and selector it shares over another ListerWatcher,
// and shares it for the same one.
func TestSharedRefusesAnotherSource(t *testing.T) {
	var f informer.Factory
	first, second := newStore(t), newStore(t)
	inf, err := informer.Shared(&f, first, quietOpts[*Pod](controlloop.Selector{}))
	if err != nil {
		t.Fatal(err)
	}
	if again, err := informer.Shared(&f, first, quietOpts[*Pod](controlloop.Selector{})); err != nil || again != inf {
		t.Errorf("Shared with the same source = %p, %v; want the first informer %p", again, err, inf)
	}
	got, err := informer.Shared(&f, second, quietOpts[*Pod](controlloop.Selector{}))
	if got != nil || !errors.Is(err, controlloop.ErrInvalid) || !strings.Contains(err.Error(), "Shared *informer_test.Pod") {
		t.Errorf("Shared with another source = %v, %v; want an error wrapping ErrInvalid naming *informer_test.Pod", got, err)
	}
	// Another selector is another informer, over any source.
	if _, err := informer.Shared(&f, second, quietOpts[*Pod](controlloop.Selector{Namespace: "ns"})); err != nil {
		t.Errorf("Shared with another selector: %v", err)
	}
	// A source whose value cannot be compared is never taken for the same.
	var f2 informer.Factory
	if _, err := informer.Shared[*Pod](&f2, funcSource{ListerWatcher: first}, quietOpts[*Pod](controlloop.Selector{})); err != nil {
		t.Fatal(err)
	}
	if _, err := informer.Shared[*Pod](&f2, funcSource{ListerWatcher: first}, quietOpts[*Pod](controlloop.Selector{})); !errors.Is(err, controlloop.ErrInvalid) {
		t.Errorf("Shared with an incomparable source = %v, want ErrInvalid", err)
	}
}

// funcSource is a ListerWatcher whose value is not comparable.
type funcSource struct {
	controlloop.ListerWatcher[*Pod]
	_ func()
}

func newNodeStore() (*memstore.Store[*Node], error) { return memstore.New[*Node](memstore.Options{}) }

// TestSharedAfterFactoryStopped checks that once a factory's Run has
// returned, Shared neither creates an informer nor hands out one that will
// never run.
func TestSharedAfterFactoryStopped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStore(t)
		var f informer.Factory
		if _, err := informer.Shared(&f, s, quietOpts[*Pod](controlloop.Selector{})); err != nil {
			t.Fatal(err)
		}
		runCtx, cancel := context.WithCancel(ctx)
		cancel()
		if err := f.Run(runCtx); err != nil {
			t.Fatal(err)
		}
		for _, sel := range []controlloop.Selector{{}, {Namespace: "new"}} {
			if inf, err := informer.Shared(&f, s, quietOpts[*Pod](sel)); inf != nil || !errors.Is(err, informer.ErrStopped) {
				t.Errorf("Shared(%+v) after Run = %v, %v; want ErrStopped", sel, inf, err)
			}
		}
		if _, err := informer.Shared[*Pod](nil, s, quietOpts[*Pod](controlloop.Selector{})); !errors.Is(err, controlloop.ErrInvalid) {
			t.Errorf("Shared on a nil Factory = %v, want ErrInvalid", err)
		}
		var nilFactory *informer.Factory
		if err := nilFactory.Run(ctx); !errors.Is(err, controlloop.ErrInvalid) {
			t.Errorf("Run of a nil Factory = %v, want ErrInvalid", err)
		}
	})
}

// TestSharedKeysBySelector checks that Shared shares one informer per type
// and selector: label selectors that differ get their own informers, equal
// ones share, and a later call's missing indexers are added to the shared
// informer (refused once its cache holds objects).
func TestSharedKeysBySelector(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStore(t)
		var f informer.Factory
		sel := func(labels map[string]string) informer.Options[*Pod] {
			return quietOpts[*Pod](controlloop.Selector{Labels: labels})
		}
		a, _ := informer.Shared(&f, s, sel(map[string]string{"app": "a", "tier": "web"}))
		a2, _ := informer.Shared(&f, s, sel(map[string]string{"tier": "web", "app": "a"}))
		b, _ := informer.Shared(&f, s, sel(map[string]string{"app": "b", "tier": "web"}))
		if a == nil || a != a2 || a == b {
			t.Fatalf("informers %p %p %p: want equal selectors shared and different ones apart", a, a2, b)
		}
		opts := sel(map[string]string{"app": "a", "tier": "web"})
		opts.Indexers = indexer.Indexers[*Pod]{"phase": func(p *Pod) ([]string, error) { return []string{p.Phase}, nil }}
		if got, err := informer.Shared(&f, s, opts); err != nil || got != a {
			t.Fatalf("Shared with a new indexer = %p, %v", got, err)
		}
		if _, err := a.Reader().ByIndex("phase", ""); err != nil {
			t.Errorf("the shared informer lacks the index a later Shared asked for: %v", err)
		}
		p := pod("ns", "x")
		p.Labels = map[string]string{"app": "a", "tier": "web"}
		_, _ = s.Create(ctx, p)
		stop := start(&f)
		defer stop()
		synctest.Wait()
		opts.Indexers = indexer.Indexers[*Pod]{"late": func(p *Pod) ([]string, error) { return nil, nil }}
		if _, err := informer.Shared(&f, s, opts); !errors.Is(err, indexer.ErrNotEmpty) {
			t.Errorf("Shared adding an indexer to a filled cache = %v, want ErrNotEmpty", err)
		}
	})
}

// TestFactoryInformers: Informers returns every informer the factory
// handed out, once each, ordered by name, and nothing for a nil Factory.
func TestFactoryInformers(t *testing.T) {
	s := newStore(t)
	var f informer.Factory
	named := func(name string, labels map[string]string) informer.Options[*Pod] {
		opts := quietOpts[*Pod](controlloop.Selector{Labels: labels})
		opts.Name = name
		return opts
	}
	b, _ := informer.Shared(&f, s, named("b", map[string]string{"app": "b"}))
	a, _ := informer.Shared(&f, s, named("a", map[string]string{"app": "a"}))
	if again, _ := informer.Shared(&f, s, named("a", map[string]string{"app": "a"})); again != a {
		t.Fatal("Shared did not share")
	}
	got := f.Informers()
	if len(got) != 2 || got[0] != informer.VersionedCache(a) || got[1] != informer.VersionedCache(b) {
		t.Fatalf("Informers() = %v, want [a b]", got)
	}
	if got := (*informer.Factory)(nil).Informers(); got != nil {
		t.Fatalf("a nil Factory's Informers() = %v", got)
	}
}
