package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/controlloop/controlloop/etcd"
	"github.com/controlloop/controlloop/examples/replicaset/controller"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// replicaOptions configure one replica of the example.
type replicaOptions struct {
	Prefix   string // of the example's keys: <Prefix>/replicasets, /pods, /leader
	Identity string
	TTL      time.Duration
	Workers  int
	Logger   *slog.Logger
	Trace    *controller.Tracer
}

// replica is the example wired on etcd: the controller package's System
// over two Sources, its Pod writes fenced by the elector.
type replica struct {
	elector *etcd.Elector
	sys     *controller.System
	trace   *controller.Tracer
}

func newReplica(client *clientv3.Client, opts replicaOptions) (*replica, error) {
	elector, err := etcd.NewElector(client, etcd.ElectorOptions{
		Prefix: opts.Prefix + "/leader", Identity: opts.Identity, TTL: opts.TTL, Logger: opts.Logger,
	})
	if err != nil {
		return nil, err
	}
	rs, err := etcd.New[*controller.ReplicaSet](client, etcd.Options{Prefix: opts.Prefix + "/replicasets"})
	if err != nil {
		return nil, err
	}
	pods, err := etcd.New[*controller.Pod](client, etcd.Options{Prefix: opts.Prefix + "/pods"})
	if err != nil {
		return nil, err
	}
	sys, err := controller.New(controller.Backend{ReplicaSets: rs, Pods: pods.Fenced(elector)}, controller.Options{
		Workers: opts.Workers, LeaderElector: elector, Logger: opts.Logger, Trace: opts.Trace,
	})
	if err != nil {
		return nil, err
	}
	return &replica{elector: elector, sys: sys, trace: opts.Trace}, nil
}

// runReplica runs a replica until ctx ends or then returns, then stops it
// and waits until it has let go of etcd.
func runReplica(ctx context.Context, client *clientv3.Client, opts replicaOptions, then func(context.Context, *replica) error) error {
	r, err := newReplica(client, opts)
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.sys.Run(runCtx) }()
	err = then(ctx, r)
	stop()
	err = errors.Join(err, <-done)
	r.elector.Wait()
	return err
}

// waitLeading waits until the replica leads.
func (r *replica) waitLeading(ctx context.Context) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !r.elector.Leading() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting to lead: %w", ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}
