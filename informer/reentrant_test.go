package informer_test

import (
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/indexer"
	"github.com/controlloop/controlloop/informer"
)

// inBubbleWithin runs f in a synctest bubble and fails t if f has not
// returned within limit of real time. synctest cannot report a deadlock on
// a mutex (a goroutine waiting in Lock is not durably blocked), so without
// this such a deadlock would hang the test binary instead of failing.
func inBubbleWithin(t *testing.T, limit time.Duration, f func(t *testing.T)) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		synctest.Test(t, f)
	}()
	select {
	case <-done:
	case <-time.After(limit): // real time: outside the bubble
		t.Fatalf("not done after %v of real time: deadlocked", limit)
	}
}

// calling is a handler that calls fn from inside every callback.
type calling struct {
	recorder
	fn func()
}

func (c *calling) OnAdd(obj *Pod, initial bool) { c.fn(); c.recorder.OnAdd(obj, initial) }
func (c *calling) OnUpdate(old, new *Pod)       { c.fn(); c.recorder.OnUpdate(old, new) }
func (c *calling) OnDelete(obj *Pod, unknown bool) {
	c.fn()
	c.recorder.OnDelete(obj, unknown)
}

// TestMethodsFromInsideCallback calls every method of Informer and of
// Registration from inside a handler's callback, with a bounded and an
// unbounded buffer, while changes flow (issue 12, item 3: a bounded
// handler calling AddHandler or another registration's Remove hung the
// informer, whose applier held its mutex while it waited for buffer room).
// Each handler must see every change, and the informer must keep going.
func TestMethodsFromInsideCallback(t *testing.T) {
	type env struct {
		inf         *informer.Informer[*Pod]
		self, other *informer.Registration[*Pod]
		once        *sync.Once
		errs        chan<- error
	}
	report := func(e *env, err error) {
		if err != nil {
			select {
			case e.errs <- err:
			default:
			}
		}
	}
	methods := []struct {
		name        string
		call        func(e *env)
		removesSelf bool
	}{
		{"Informer.AddHandler", func(e *env) {
			reg, err := e.inf.AddHandler(&recorder{}, informer.HandlerOptions{MaxBuffer: 1})
			report(e, err)
			if reg != nil {
				reg.Remove()
			}
		}, false},
		{"Informer.AddIndexers", func(e *env) {
			// The cache holds objects: refused, but at once.
			err := e.inf.AddIndexers(indexer.Indexers[*Pod]{"phase": func(p *Pod) ([]string, error) { return []string{p.Phase}, nil }})
			if !errors.Is(err, indexer.ErrNotEmpty) {
				report(e, err)
			}
		}, false},
		{"Informer.Reader", func(e *env) {
			r := e.inf.Reader()
			_, _ = r.Get(controlloop.Key{Namespace: "ns", Name: "p0"})
			_ = controlloop.Collect(r.All())
			_ = controlloop.Collect(r.List(controlloop.Selector{Namespace: "ns"}))
			seq, err := r.ByIndex(indexer.NamespaceIndex, "ns")
			report(e, err)
			_ = controlloop.Collect(seq)
			_ = r.Len()
		}, false},
		{"Informer.HasSynced", func(e *env) { _ = e.inf.HasSynced() }, false},
		{"Informer.LastSyncResourceVersion", func(e *env) { _ = e.inf.LastSyncResourceVersion() }, false},
		{"Informer.Run", func(e *env) {
			if err := e.inf.Run(ctx); !errors.Is(err, controlloop.ErrAlreadyStarted) {
				report(e, err)
			}
		}, false},
		{"Registration.HasSynced", func(e *env) { _ = e.self.HasSynced(); _ = e.other.HasSynced() }, false},
		{"Registration.Pending", func(e *env) { _ = e.self.Pending(); _ = e.other.Pending() }, false},
		{"Registration.Panics", func(e *env) { _ = e.self.Panics(); _ = e.other.Panics() }, false},
		{"Registration.Remove(other)", func(e *env) { e.once.Do(e.other.Remove) }, false},
		{"Registration.Remove(self)", func(e *env) { e.self.Remove() }, true},
	}
	for _, bound := range []int{0, 1} {
		for _, m := range methods {
			t.Run(m.name+"/MaxBuffer="+itoa(bound), func(t *testing.T) {
				inBubbleWithin(t, 20*time.Second, func(t *testing.T) {
					const n = 50
					s := newStore(t)
					for i := range n {
						_, _ = s.Create(ctx, pod("ns", "p"+itoa(i)))
					}
					inf := newInformer(t, s, informer.Options[*Pod]{})
					errs := make(chan error, 1)
					e := &env{inf: inf, once: &sync.Once{}, errs: errs}
					h := &calling{fn: func() { m.call(e) }}
					opts := informer.HandlerOptions{MaxBuffer: bound}
					other, _ := inf.AddHandler(&recorder{}, opts)
					e.other = other
					self, err := inf.AddHandler(h, opts)
					if err != nil {
						t.Fatal(err)
					}
					e.self = self
					stop := start(inf)
					defer stop()
					for i := range n {
						_, _ = s.Update(ctx, &Pod{ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: "p" + itoa(i)}, Phase: "up"})
					}
					synctest.Wait()
					_, _ = s.Create(ctx, pod("ns", "last"))
					synctest.Wait()
					select {
					case err := <-errs:
						t.Errorf("%s from inside a callback: %v", m.name, err)
					default:
					}
					if m.removesSelf {
						if got := len(h.all()); got != 1 {
							t.Errorf("a handler that removed itself got %d notifications, want 1", got)
						}
						return
					}
					got := h.replay()
					if want := storeState(s); len(got) != len(want) || got["ns/last"] != want["ns/last"] {
						t.Errorf("handler's state has %d objects (last %q), store %d (last %q)", len(got), got["ns/last"], len(want), want["ns/last"])
					}
					if c := cacheState(inf); len(c) != n+1 {
						t.Errorf("cache holds %d objects, want %d", len(c), n+1)
					}
				})
			})
		}
	}
}
