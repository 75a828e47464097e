package workqueue_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/workqueue"
)

func ExampleQueue() {
	q, err := workqueue.New(workqueue.Options[controlloop.Key]{Name: "pods"})
	if err != nil {
		panic(err)
	}
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
	l, err := workqueue.NewItemExponential[string](5*time.Millisecond, 40*time.Millisecond)
	if err != nil {
		panic(err)
	}
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

func ExampleNewItemExponential_invalid() {
	_, err := workqueue.NewItemExponential[string](time.Second, time.Millisecond)
	fmt.Println(errors.Is(err, controlloop.ErrInvalid))
	fmt.Println(err)
	// Output:
	// true
	// workqueue: NewItemExponential: max is 1ms: must not be less than base (1s): controlloop: invalid
}

// A zero Queue needs no constructor: it works as New(Options{}) makes one.
func ExampleQueue_zero() {
	var q workqueue.Queue[string]
	q.Add("a")
	item, _ := q.Get(context.Background())
	fmt.Println(item, q.Len())
	q.Done(item)
	// Output:
	// a 0
}
