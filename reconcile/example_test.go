package reconcile_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/controlloop/controlloop/reconcile"
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
	c, err := reconcile.New(r, reconcile.Options[reconcile.Request]{
		Name:        "example",
		Logger:      quiet,
		RateLimiter: workqueue.NewItemExponential[reconcile.Request](time.Millisecond, time.Second),
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
