package informer_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/informer"
)

// logRecords is a slog.Handler that keeps the records at Error.
type logRecords struct {
	mu   sync.Mutex
	recs []map[string]string
}

func (l *logRecords) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelError }
func (l *logRecords) WithAttrs([]slog.Attr) slog.Handler            { return l }
func (l *logRecords) WithGroup(string) slog.Handler                 { return l }
func (l *logRecords) Handle(_ context.Context, r slog.Record) error {
	m := map[string]string{"msg": r.Message}
	r.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.String(); return true })
	l.mu.Lock()
	l.recs = append(l.recs, m)
	l.mu.Unlock()
	return nil
}

func (l *logRecords) all() []map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]map[string]string(nil), l.recs...)
}

// TestMutationDetector plants a mutation of a cached object and checks
// that the detector reports it once, with the key and the field path
// (issue 12, item 6), on the object's next change and not before.
func TestMutationDetector(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStore(t)
		_, _ = s.Create(ctx, pod("ns", "a"))
		b := pod("ns", "b")
		b.Labels = map[string]string{"app": "web"}
		_, _ = s.Create(ctx, b)
		logs := &logRecords{}
		inf := newInformer(t, s, informer.Options[*Pod]{MutationDetector: true, Logger: slog.New(logs)})
		stop := start(inf)
		synctest.Wait()
		cached, err := inf.Reader().Get(controlloop.Key{Namespace: "ns", Name: "b"})
		if err != nil {
			t.Fatal(err)
		}
		cached.Labels["app"] = "db" // the planted mutation
		if got := logs.all(); len(got) != 0 {
			t.Errorf("reported before any check: %v", got)
		}
		_, _ = s.Update(ctx, pod("ns", "b"))
		synctest.Wait()
		stop()
		got := logs.all()
		if len(got) != 1 || got[0]["key"] != "ns/b" || got[0]["path"] != ".ObjectMeta.Labels[app]" {
			t.Errorf("reports %v, want one for key ns/b, path .ObjectMeta.Labels[app]", got)
		}
	})
}

// TestMutationDetectorNeedsCopy checks that New refuses a detector, asked
// for by the option or by the environment variable, for a type it cannot
// copy, and accepts one given Copy.
func TestMutationDetectorNeedsCopy(t *testing.T) {
	type plain struct{ controlloop.ObjectMeta }
	_, err := informer.New[*plain](nil, informer.Options[*plain]{})
	if !errors.Is(err, controlloop.ErrInvalid) {
		t.Fatalf("New(nil) = %v", err)
	}
	lw := &noSource[*plain]{}
	if _, err := informer.New[*plain](lw, informer.Options[*plain]{MutationDetector: true}); !errors.Is(err, controlloop.ErrInvalid) {
		t.Errorf("New with a detector for a type without DeepCopy = %v, want ErrInvalid", err)
	}
	if _, err := informer.New[*plain](lw, informer.Options[*plain]{}); err != nil {
		t.Errorf("New without a detector = %v", err)
	}
	t.Setenv(informer.MutationDetectorEnv, "1")
	if _, err := informer.New[*plain](lw, informer.Options[*plain]{}); !errors.Is(err, controlloop.ErrInvalid) {
		t.Errorf("New with %s=1 for a type without DeepCopy = %v, want ErrInvalid: the variable turns the detector on", informer.MutationDetectorEnv, err)
	}
	cp := func(p *plain) *plain { c := *p; return &c }
	if _, err := informer.New[*plain](lw, informer.Options[*plain]{MutationDetector: true, Copy: cp}); err != nil {
		t.Errorf("New with a detector and Copy = %v", err)
	}
}

// noSource is a ListerWatcher that is never called.
type noSource[T controlloop.Object] struct{}

func (noSource[T]) List(context.Context, controlloop.ListOptions) (controlloop.ListResult[T], error) {
	return controlloop.ListResult[T]{}, errors.New("not called")
}

func (noSource[T]) Watch(context.Context, controlloop.WatchOptions) (<-chan controlloop.Event[T], error) {
	return nil, errors.New("not called")
}
