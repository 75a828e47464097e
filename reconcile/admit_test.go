package reconcile_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/reconcile"
	"github.com/controlloop/controlloop/reflector"
)

// nameAdmitter admits requests whose name starts with "mine", and lets a
// worker begin only those whose name does not end in "-moved"; it records
// what began and ended, and tags the reconcile context.
type nameAdmitter struct {
	mu     sync.Mutex
	admits []string
	begun  []string
	ended  int
}

type admitTag struct{}

func (a *nameAdmitter) Admit(req reconcile.Request) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.admits = append(a.admits, req.Name)
	return strings.HasPrefix(req.Name, "mine")
}

func (a *nameAdmitter) Begin(ctx context.Context, req reconcile.Request) (context.Context, func(), bool) {
	if strings.HasSuffix(req.Name, "-moved") {
		return ctx, nil, false
	}
	a.mu.Lock()
	a.begun = append(a.begun, req.Name)
	a.mu.Unlock()
	return context.WithValue(ctx, admitTag{}, req.Name), func() { a.mu.Lock(); a.ended++; a.mu.Unlock() }, true
}

// TestAdmitter: event sources enqueue only what the Admitter admits; a
// request on the queue is reconciled only if Begin lets it, under the
// context Begin returned, and end is called after each.
func TestAdmitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		store, err := memstore.New[*Pod](memstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"mine-1", "theirs-1", "mine-2"} {
			if _, err := store.Create(ctx, &Pod{ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: name}}); err != nil {
				t.Fatal(err)
			}
		}
		inf, err := informer.New[*Pod](store, informer.Options[*Pod]{Logger: quiet, Reflector: reflector.Options{Logger: quiet}})
		if err != nil {
			t.Fatal(err)
		}
		var a nameAdmitter
		var mu sync.Mutex
		var reconciled []string
		r := reconcile.Func[reconcile.Request](func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
			if got, _ := ctx.Value(admitTag{}).(string); got != req.Name {
				t.Errorf("reconcile of %v runs without Begin's context", req)
			}
			mu.Lock()
			reconciled = append(reconciled, req.Name)
			mu.Unlock()
			return reconcile.Result{}, nil
		})
		c, err := reconcile.New(r, reconcile.Options[reconcile.Request]{Name: "pods", Logger: quiet, Admitter: &a})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := reconcile.Watch(c, inf, reconcile.ForObject[*Pod]()); err != nil {
			t.Fatal(err)
		}
		// Added directly, as a requeue would be: only Begin sees it.
		c.Queue().Add(reconcile.Request{Namespace: "ns", Name: "mine-3-moved"})
		var m reconcile.Manager
		m.AddCache(inf)
		m.AddController(c)
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error)
		go func() { done <- m.Run(runCtx) }()
		time.Sleep(time.Second)
		stop()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		slices.Sort(reconciled)
		if want := []string{"mine-1", "mine-2"}; !slices.Equal(reconciled, want) {
			t.Errorf("reconciled %v, want %v", reconciled, want)
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		if !slices.Contains(a.admits, "theirs-1") || a.ended != len(a.begun) || len(a.begun) != 2 {
			t.Errorf("admits %v, begun %v, ended %d", a.admits, a.begun, a.ended)
		}
	})
}
