package reconcile_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/reconcile"
	"github.com/controlloop/controlloop/reflector"
	"github.com/controlloop/controlloop/workqueue"
)

func ExampleController() {
	ctx, stop := context.WithCancel(context.Background())
	attempts := map[reconcile.Request]int{}
	done := make(chan struct{})

	r := reconcile.Func[reconcile.Request](func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
		attempts[req]++
		if attempts[req] < 3 {
			fmt.Println("reconcile", req, "attempt", attempts[req], "failed")
			return reconcile.Result{}, errors.New("dependency not ready")
		}
		fmt.Println("reconcile", req, "attempt", attempts[req], "done")
		close(done)
		return reconcile.Result{}, nil
	})
	limiter, err := workqueue.NewItemExponential[reconcile.Request](time.Millisecond, time.Second)
	if err != nil {
		panic(err)
	}
	c, err := reconcile.New(r, reconcile.Options[reconcile.Request]{
		Name:        "example",
		Logger:      quiet,
		RateLimiter: limiter,
	})
	if err != nil {
		panic(err)
	}
	c.Queue().Add(reconcile.Request{Namespace: "default", Name: "web"})

	go func() { <-done; stop() }()
	if err := c.Run(ctx); err != nil {
		panic(err)
	}
	// Output:
	// reconcile default/web attempt 1 failed
	// reconcile default/web attempt 2 failed
	// reconcile default/web attempt 3 done
}

func ExampleTerminalError() {
	err := reconcile.TerminalError(errors.New("spec.replicas is negative"))
	fmt.Println(errors.Is(err, reconcile.ErrTerminal))
	fmt.Println(err)
	// Output:
	// true
	// terminal error: spec.replicas is negative
}

// App is the example's object: a desired number of replicas, and how many
// are ready.
type App struct {
	controlloop.ObjectMeta
	Replicas int
	Ready    int
}

// ExampleManager wires a whole control loop: a store, a shared informer
// over it, a controller bound to the informer with Watch, and a Manager
// that runs them. Each reconcile readies one more replica of an App and
// writes the status; the write comes back through the informer as an
// event, which reconciles the App again, until it has converged.
func ExampleManager() {
	ctx := context.Background()
	store, err := memstore.New[*App](memstore.Options{})
	if err != nil {
		panic(err)
	}
	for name, replicas := range map[string]int{"web": 3, "db": 2} {
		if _, err := store.Create(ctx, &App{ObjectMeta: controlloop.ObjectMeta{Namespace: "prod", Name: name}, Replicas: replicas}); err != nil {
			panic(err)
		}
	}

	var factory informer.Factory
	appInf, err := informer.Shared(&factory, store, informer.Options[*App]{Logger: quiet, Reflector: reflector.Options{Logger: quiet}})
	if err != nil {
		panic(err)
	}
	reader := appInf.Reader()
	scale := reconcile.Func[reconcile.Request](func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
		app, err := reader.Get(req)
		if errors.Is(err, controlloop.ErrNotFound) {
			return reconcile.Result{}, nil // deleted: nothing to do
		}
		if err != nil || app.Ready >= app.Replicas {
			return reconcile.Result{}, err
		}
		next := *app // the cache's objects are read-only: change a copy
		next.Ready++
		_, err = store.UpdateStatus(ctx, &next) // a conflict is an error: retried
		return reconcile.Result{}, err
	})
	ctl, err := reconcile.New(scale, reconcile.Options[reconcile.Request]{Name: "scaler", Logger: quiet})
	if err != nil {
		panic(err)
	}
	if _, err := reconcile.Watch(ctl, appInf, reconcile.ForObject[*App]()); err != nil {
		panic(err)
	}

	var m reconcile.Manager
	m.AddCache(&factory)
	m.AddController(ctl)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- m.Run(runCtx) }()

	apps := func() []*App { // the store's, sorted by name
		list, err := store.List(ctx, controlloop.ListOptions{})
		if err != nil {
			panic(err)
		}
		slices.SortFunc(list.Items, func(a, b *App) int { return strings.Compare(a.Name, b.Name) })
		return list.Items
	}
	converged := func() bool {
		for _, app := range apps() {
			if app.Ready != app.Replicas {
				return false
			}
		}
		return true
	}
	for !converged() {
		time.Sleep(time.Millisecond)
	}
	stop()
	if err := <-done; err != nil {
		panic(err)
	}
	for _, app := range apps() {
		fmt.Printf("%s: %d/%d ready\n", controlloop.KeyOf(app), app.Ready, app.Replicas)
	}
	// Output:
	// prod/db: 2/2 ready
	// prod/web: 3/3 ready
}
