package controller_test

import (
	"context"
	"fmt"
	"os"

	"github.com/controlloop/controlloop/examples/deployment/controller"
	rs "github.com/controlloop/controlloop/examples/replicaset/controller"
	"github.com/controlloop/controlloop/memstore"
)

// Example runs the walk-through on the in-memory store, without the trace
// and the rollouts' steps, and prints the final state: rolled back to the
// first template, whose ReplicaSet runs the Pods again.
func Example() {
	deployments, _ := memstore.New[*controller.Deployment](memstore.Options{})
	replicaSets, _ := memstore.New[*rs.ReplicaSet](memstore.Options{})
	pods, _ := memstore.New[*rs.Pod](memstore.Options{})
	sys, err := controller.New(controller.Backend{
		Deployments: deployments,
		Backend:     rs.Backend{ReplicaSets: replicaSets, Pods: pods},
	}, controller.Options{Logger: quiet})
	if err != nil {
		panic(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- sys.Run(ctx) }()

	err = controller.Scenario{HideSteps: true}.Run(ctx, sys, os.Stdout)
	stop()
	fmt.Println(err, <-done)
	// Output:
	// final state
	//   Deployment nsA/web: generation 3, image nginx:1.27, spec.replicas 3, status 3 pods (3 updated, 3 ready; observed generation 3)
	//   ReplicaSet nsA/web-48916ce1: revision 3, nginx:1.27, spec.replicas 3, status 3/3 ready
	//   ReplicaSet nsA/web-cd9e6a4a: revision 2, nginx:1.28, spec.replicas 0, status 0/0 ready
	//   Pod nsA/web-48916ce1-0: nginx:1.27, Running, owned by ReplicaSet web-48916ce1
	//   Pod nsA/web-48916ce1-1: nginx:1.27, Running, owned by ReplicaSet web-48916ce1
	//   Pod nsA/web-48916ce1-2: nginx:1.27, Running, owned by ReplicaSet web-48916ce1
	// <nil> <nil>
}
