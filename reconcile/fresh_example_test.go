package reconcile_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/reconcile"
	"github.com/controlloop/controlloop/reflector"
)

// runLoop runs inf and ctl under a Manager until the returned stop is
// called.
func runLoop(inf reconcile.Runnable, ctl reconcile.Runnable) (stop func()) {
	var m reconcile.Manager
	m.AddCache(inf)
	m.AddController(ctl)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- m.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			panic(err)
		}
	}
}

// ExampleTrackWrites counts a Counter up one status write per reconcile,
// through a cache whose watch lags 20ms behind the store. Each reconcile
// asks to run again 1ms later, long before the cache shows its write; the
// controller holds the request back until it does (writes go through
// TrackWrites), so every reconcile reads what the one before wrote, and
// none writes from a stale copy.
func ExampleTrackWrites() {
	ctx := context.Background()
	store, err := memstore.New[*Counter](memstore.Options{})
	if err != nil {
		panic(err)
	}
	lagging := delayedWatch[*Counter]{Store: store, delays: []time.Duration{20 * time.Millisecond}, next: new(atomic.Int64)}
	inf, err := informer.New[*Counter](lagging, informer.Options[*Counter]{Logger: quiet, Reflector: reflector.Options{Logger: quiet}})
	if err != nil {
		panic(err)
	}
	client := reconcile.TrackWrites[*Counter](store)
	done := make(chan struct{})
	conflicts := 0 // writes from a stale copy, which the store refuses
	count := reconcile.Func[reconcile.Request](func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
		c, err := inf.Reader().Get(req)
		if err != nil || c.Have >= c.Want {
			return reconcile.Result{}, nil
		}
		next := c.DeepCopy()
		next.Have++
		if _, err := client.UpdateStatus(ctx, next); err != nil {
			if errors.Is(err, controlloop.ErrConflict) {
				conflicts++
			}
			return reconcile.Result{}, err
		}
		fmt.Printf("read have=%d, wrote have=%d\n", c.Have, next.Have)
		if next.Have == next.Want {
			close(done)
		}
		return reconcile.Result{RequeueAfter: time.Millisecond}, nil
	})
	ctl, err := reconcile.New(count, reconcile.Options[reconcile.Request]{Name: "counter", Logger: quiet})
	if err != nil {
		panic(err)
	}
	if _, err := reconcile.Watch(ctl, inf, reconcile.ForObject[*Counter]()); err != nil {
		panic(err)
	}
	stop := runLoop(inf, ctl)
	if _, err := store.Create(ctx, &Counter{ObjectMeta: controlloop.ObjectMeta{Name: "c"}, Want: 3}); err != nil {
		panic(err)
	}
	<-done
	stop()
	fmt.Println("conflicts:", conflicts)
	// Output:
	// read have=0, wrote have=1
	// read have=1, wrote have=2
	// read have=2, wrote have=3
	// conflicts: 0
}

// ExampleController_WaitUntilReconciled applies a change and waits until
// the controller has acted on it: "apply and wait", with no loop of its
// own.
func ExampleController_WaitUntilReconciled() {
	ctx := context.Background()
	store, err := memstore.New[*App](memstore.Options{})
	if err != nil {
		panic(err)
	}
	inf, err := informer.New[*App](store, informer.Options[*App]{Logger: quiet, Reflector: reflector.Options{Logger: quiet}})
	if err != nil {
		panic(err)
	}
	ready := reconcile.Func[reconcile.Request](func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
		app, err := inf.Reader().Get(req)
		if err != nil || app.Ready == app.Replicas {
			return reconcile.Result{}, nil
		}
		next := *app
		next.Ready = app.Replicas
		_, err = store.UpdateStatus(ctx, &next)
		return reconcile.Result{}, err
	})
	ctl, err := reconcile.New(ready, reconcile.Options[reconcile.Request]{Name: "apps", Logger: quiet})
	if err != nil {
		panic(err)
	}
	if _, err := reconcile.Watch(ctl, inf, reconcile.ForObject[*App]()); err != nil {
		panic(err)
	}
	stop := runLoop(inf, ctl)
	defer stop()

	app, err := store.Create(ctx, &App{ObjectMeta: controlloop.ObjectMeta{Name: "web"}, Replicas: 3})
	if err != nil {
		panic(err)
	}
	for _, replicas := range []int{5, 1} {
		if err := ctl.WaitUntilReconciled(ctx, controlloop.KeyOf(app), app.ResourceVersion); err != nil {
			panic(err)
		}
		if app, err = store.Get(ctx, controlloop.KeyOf(app)); err != nil {
			panic(err)
		}
		fmt.Printf("reconciled: %d/%d ready\n", app.Ready, app.Replicas)
		app.Replicas = replicas
		if app, err = store.Update(ctx, app); err != nil {
			panic(err)
		}
	}
	if err := ctl.WaitUntilReconciled(ctx, controlloop.KeyOf(app), app.ResourceVersion); err != nil {
		panic(err)
	}
	app, _ = store.Get(ctx, controlloop.KeyOf(app))
	fmt.Printf("reconciled: %d/%d ready\n", app.Ready, app.Replicas)
	// Output:
	// reconciled: 3/3 ready
	// reconciled: 5/5 ready
	// reconciled: 1/1 ready
}

// ExampleMarkObserved: the controller publishes the generation it acted
// on in one line, and a writer waits for it.
func ExampleMarkObserved() {
	ctx := context.Background()
	store, err := memstore.New[*Widget](memstore.Options{})
	if err != nil {
		panic(err)
	}
	inf, err := informer.New[*Widget](store, informer.Options[*Widget]{Logger: quiet, Reflector: reflector.Options{Logger: quiet}})
	if err != nil {
		panic(err)
	}
	observe := reconcile.Func[reconcile.Request](func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
		w, err := inf.Reader().Get(req)
		if err != nil {
			return reconcile.Result{}, nil
		}
		// ... act on w's spec, then:
		_, err = reconcile.MarkObserved(ctx, store, w)
		return reconcile.Result{}, err
	})
	ctl, err := reconcile.New(observe, reconcile.Options[reconcile.Request]{Name: "widgets", Logger: quiet})
	if err != nil {
		panic(err)
	}
	if _, err := reconcile.Watch(ctl, inf, reconcile.ForObject[*Widget]()); err != nil {
		panic(err)
	}
	stop := runLoop(inf, ctl)
	defer stop()

	w, err := store.Create(ctx, &Widget{ObjectMeta: controlloop.ObjectMeta{Name: "w"}, Size: 1})
	if err != nil {
		panic(err)
	}
	w.Size = 2
	if w, err = store.Update(ctx, w); err != nil {
		panic(err)
	}
	seen, err := reconcile.WaitObserved(ctx, inf, controlloop.KeyOf(w), w.Generation)
	if err != nil {
		panic(err)
	}
	fmt.Printf("generation %d observed, size %d\n", seen.Observed, seen.Size)
	// Output:
	// generation 2 observed, size 2
}
