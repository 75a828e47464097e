package reconcile_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"
	"testing/synctest"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/reconcile"
	"github.com/controlloop/controlloop/reflector"
)

// Widget publishes the generation its controller acted on.
type Widget struct {
	controlloop.ObjectMeta
	Size     int
	Observed int64
}

func (w *Widget) DeepCopy() *Widget {
	c := *w
	c.Labels = maps.Clone(w.Labels)
	c.OwnerReferences = slices.Clone(w.OwnerReferences)
	return &c
}
func (w *Widget) ObservedGeneration() int64       { return w.Observed }
func (w *Widget) SetObservedGeneration(gen int64) { w.Observed = gen }

// TestObservedGeneration: a reconciler that calls MarkObserved publishes
// each generation once (a second call writes nothing), and WaitObserved
// returns once the cache shows the generation observed, not before.
func TestObservedGeneration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		store, err := memstore.New[*Widget](memstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		inf, err := informer.New[*Widget](store, informer.Options[*Widget]{Logger: quiet, Reflector: reflector.Options{Logger: quiet}})
		if err != nil {
			t.Fatal(err)
		}
		block := make(chan struct{}) // closed: reconciles may mark
		ctl, err := reconcile.New[reconcile.Request](reconcile.Func[reconcile.Request](func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
			<-block
			w, err := inf.Reader().Get(req)
			if err != nil {
				return reconcile.Result{}, nil
			}
			_, err = reconcile.MarkObserved(ctx, store, w)
			if errors.Is(err, controlloop.ErrConflict) {
				err = nil // the widget changed: its event brings another reconcile
			}
			return reconcile.Result{}, err
		}), reconcile.Options[reconcile.Request]{Name: "widgets", Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := reconcile.Watch(ctl, inf, reconcile.ForObject[*Widget]()); err != nil {
			t.Fatal(err)
		}
		var m reconcile.Manager
		m.AddCache(inf)
		m.AddController(ctl)
		runCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() { _ = m.Run(runCtx) }()

		w, err := store.Create(ctx, &Widget{ObjectMeta: controlloop.ObjectMeta{Name: "w"}, Size: 1})
		if err != nil {
			t.Fatal(err)
		}
		w = w.DeepCopy()
		w.Size = 2
		if w, err = store.Update(ctx, w); err != nil {
			t.Fatal(err)
		}
		waited := make(chan *Widget, 1)
		go func() {
			got, err := reconcile.WaitObserved(ctx, inf, controlloop.KeyOf(w), w.Generation)
			if err != nil {
				t.Error(err)
			}
			waited <- got
		}()
		synctest.Wait()
		select {
		case <-waited:
			t.Fatal("WaitObserved returned before the controller marked the generation")
		default:
		}
		close(block)
		got := <-waited
		if got.Observed < w.Generation {
			t.Errorf("WaitObserved returned observed generation %d, want %d", got.Observed, w.Generation)
		}
		synctest.Wait()
		before, err := store.Get(ctx, controlloop.KeyOf(w))
		if err != nil {
			t.Fatal(err)
		}
		again, err := reconcile.MarkObserved(ctx, store, before)
		if err != nil || again.ResourceVersion != before.ResourceVersion {
			t.Errorf("MarkObserved of an observed generation wrote (version %s -> %s, err %v), want no write", before.ResourceVersion, again.ResourceVersion, err)
		}
		if _, err := reconcile.MarkObserved[*Widget](ctx, store, nil); !errors.Is(err, controlloop.ErrInvalid) {
			t.Errorf("MarkObserved(nil) = %v, want ErrInvalid", err)
		}
	})
}
