package memstore_test

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/memstore"
	"go.uber.org/goleak"
)

// Pod is the test object: it has a DeepCopy method, as generated types do.
type Pod struct {
	controlloop.ObjectMeta
	Spec   string
	Status string
}

func (p *Pod) DeepCopy() *Pod {
	c := *p
	c.Labels = maps.Clone(p.Labels)
	c.OwnerReferences = slices.Clone(p.OwnerReferences)
	return &c
}

var (
	_ controlloop.Client[*Pod]        = (*memstore.Store[*Pod])(nil)
	_ controlloop.ListerWatcher[*Pod] = (*memstore.Store[*Pod])(nil)
)

func pod(ns, name string, labels map[string]string) *Pod {
	return &Pod{ObjectMeta: controlloop.ObjectMeta{Namespace: ns, Name: name, Labels: labels}}
}

func mustCreate(t testing.TB, s *memstore.Store[*Pod], p *Pod) *Pod {
	t.Helper()
	got, err := s.Create(context.Background(), p)
	if err != nil {
		t.Fatalf("Create(%v): %v", controlloop.KeyOf(p), err)
	}
	return got
}

// next receives one event from ch, failing the test if none comes within a
// generous bound (a safety net against a hang, not a wait for timing).
func next[T controlloop.Object](t fataler, ch <-chan controlloop.Event[T]) (controlloop.Event[T], bool) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		return ev, ok
	case <-time.After(10 * time.Second):
		t.Fatalf("no event within 10s")
		return controlloop.Event[T]{}, false
	}
}

// collect receives n events from ch.
func collect[T controlloop.Object](t fataler, ch <-chan controlloop.Event[T], n int) []controlloop.Event[T] {
	t.Helper()
	var out []controlloop.Event[T]
	for range n {
		ev, ok := next(t, ch)
		if !ok {
			t.Fatalf("channel closed after %d of %d events: %v", len(out), n, summary(out))
		}
		out = append(out, ev)
	}
	return out
}

// drainClosed reads ch until it closes, returning what it got.
func drainClosed[T controlloop.Object](t fataler, ch <-chan controlloop.Event[T]) []controlloop.Event[T] {
	t.Helper()
	var out []controlloop.Event[T]
	for {
		ev, ok := next(t, ch)
		if !ok {
			return out
		}
		out = append(out, ev)
	}
}

// fataler is what the helpers need of *testing.T and *rapid.T.
type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

type evSummary struct {
	Type string
	Key  string
	RV   string
}

func summary[T controlloop.Object](evs []controlloop.Event[T]) []evSummary {
	var out []evSummary
	for _, ev := range evs {
		s := evSummary{Type: ev.Type.String(), RV: ev.ResourceVersion}
		if !controlloop.IsNil(ev.Object) {
			s.Key = controlloop.KeyOf(ev.Object).String()
			if ev.Object.GetResourceVersion() != ev.ResourceVersion {
				s.RV += "!obj=" + ev.Object.GetResourceVersion()
			}
		}
		out = append(out, s)
	}
	return out
}

// TestMain fails the package if any watcher goroutine outlives its test.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// must returns v, failing the test run if err is not nil.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
