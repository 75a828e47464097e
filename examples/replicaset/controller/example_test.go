package controller_test

import (
	"context"
	"fmt"
	"os"

	"github.com/controlloop/controlloop/examples/replicaset/controller"
	"github.com/controlloop/controlloop/memstore"
)

// Example runs the walk-through on the in-memory store, without the trace,
// and prints the final state.
func Example() {
	rs, _ := memstore.New[*controller.ReplicaSet](memstore.Options{})
	pods, _ := memstore.New[*controller.Pod](memstore.Options{})
	sys, err := controller.New(controller.Backend{ReplicaSets: rs, Pods: pods}, controller.Options{Logger: quiet})
	if err != nil {
		panic(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- sys.Run(ctx) }()

	err = controller.Scenario{}.Run(ctx, sys, os.Stdout)
	stop()
	fmt.Println(err, <-done)
	// Output:
	// final state
	//   ReplicaSet nsA/rsA: generation 3, spec.replicas 1, status 1/1 ready (observed generation 3)
	//   Pod nsA/rsA-0: Running, owned by ReplicaSet rsA, labels map[app:rsA]
	// <nil> <nil>
}
