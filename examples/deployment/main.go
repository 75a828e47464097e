// Command deployment runs the Deployment example on the embedded
// in-memory store: a Deployment controller rolls Pods from one template to
// the next over the ReplicaSet example's controllers, which create the
// Pods, and its node agent, which starts them after a delay.
//
// With no flags it creates Deployment nsA/web with 3 replicas of
// nginx:1.27 (maxSurge 1, maxUnavailable 0), rolls it out to nginx:1.28,
// then rolls it back, printing each rollout step by step: the old and new
// ReplicaSets' Pods and ready counts, each step checked against the
// bounds. A step out of bounds fails the command; otherwise it prints the
// final state and exits 0.
//
//	go run ./examples/deployment
//	go run ./examples/deployment -replicas 5 -max-surge 2 -max-unavailable 1
//	go run ./examples/deployment -trace -v
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/controlloop/controlloop/examples/deployment/controller"
	rs "github.com/controlloop/controlloop/examples/replicaset/controller"
	"github.com/controlloop/controlloop/memstore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "deployment:", err)
		os.Exit(1)
	}
}

// run plays the scenario.
func run(ctx context.Context, args []string, out io.Writer) error {
	out = rs.SharedOutput(out) // the trace and the report share it
	fs := flag.NewFlagSet("deployment", flag.ContinueOnError)
	var flags rs.Flags
	fs.IntVar(&flags.Replicas, "replicas", 3, "replicas of the Deployment")
	flags.RegisterRun(fs)
	var strategy controller.RollingUpdate
	fs.IntVar(&strategy.MaxSurge, "max-surge", 1, "Pods beyond the replicas that a rollout may add")
	fs.IntVar(&strategy.MaxUnavailable, "max-unavailable", 0, "Pods below the replicas that may be not ready during a rollout")
	readyDelay := fs.Duration("ready-delay", 200*time.Millisecond, "how long the node agent takes to start a Pod")
	trace := fs.Bool("trace", false, "also print the controllers' trace: each reconcile's decision")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := flags.Check(); err != nil {
		return err
	}
	switch {
	case strategy.MaxSurge < 0 || strategy.MaxUnavailable < 0:
		return errors.New("-max-surge and -max-unavailable must not be negative")
	case strategy == (controller.RollingUpdate{}):
		return errors.New("-max-surge and -max-unavailable must not both be 0: a rollout could never start")
	case *readyDelay < 0:
		return errors.New("-ready-delay must not be negative")
	}

	deployments, err := memstore.New[*controller.Deployment](memstore.Options{})
	if err != nil {
		return err
	}
	replicaSets, err := memstore.New[*rs.ReplicaSet](memstore.Options{})
	if err != nil {
		return err
	}
	pods, err := memstore.New[*rs.Pod](memstore.Options{})
	if err != nil {
		return err
	}
	var tracer *rs.Tracer
	if *trace {
		tracer = rs.NewTracer(out)
	}
	sys, err := controller.New(controller.Backend{
		Deployments: deployments,
		Backend:     rs.Backend{ReplicaSets: replicaSets, Pods: pods},
	}, controller.Options{Workers: flags.Workers, ReadyDelay: *readyDelay, Logger: flags.Logger(), Trace: tracer})
	if err != nil {
		return err
	}

	runCtx, stopSystem := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- sys.Run(runCtx) }()
	scenario := controller.Scenario{Replicas: flags.Replicas, Strategy: strategy, Trace: tracer}
	err = scenario.Run(ctx, sys, out)
	stopSystem()
	return errors.Join(err, <-done)
}
