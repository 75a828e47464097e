package workqueue_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/workqueue"
)

func ExampleQueue() {
	q := workqueue.New(workqueue.Options[controlloop.Key]{Name: "pods"})
	web := controlloop.Key{Namespace: "default", Name: "web"}
	db := controlloop.Key{Namespace: "default", Name: "db"}

	q.Add(web)
	q.Add(db)
	q.Add(web) // already queued: merged
	q.AddWithOptions(controlloop.Key{Name: "urgent"}, workqueue.AddOptions{Priority: 10})
	q.ShutDown() // hand out what is ready, then stop

	for {
		key, err := q.Get(context.Background())
		if errors.Is(err, workqueue.ErrShutDown) {
			break
		}
		fmt.Println("reconcile", key)
		q.Forget(key)
		q.Done(key)
	}
	// Output:
	// reconcile urgent
	// reconcile default/web
	// reconcile default/db
}

func ExampleItemExponential() {
	l := workqueue.NewItemExponential[string](5e6, 40e6) // 5ms doubling to 40ms
	for range 5 {
		fmt.Println(l.When("flaky"))
	}
	fmt.Println(l.NumRequeues("flaky"), "failures on record")
	// Output:
	// 5ms
	// 10ms
	// 20ms
	// 40ms
	// 40ms
	// 5 failures on record
}
