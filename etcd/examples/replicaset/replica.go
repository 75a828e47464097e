package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/controlloop/controlloop"
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
// over two Sources, its Pod writes fenced by the elector. The replica has
// one Elector, which the System's manager holds as its LeaderElector
// (controller.Options.LeaderElector): the manager campaigns once, and both
// controllers, which have no elector of their own, lead together.
type replica struct {
	elector *etcd.Elector
	sys     *controller.System
	trace   *controller.Tracer
}

// newReplica wires a replica of the example's objects under
// opts.Prefix in etcd.
func newReplica(client *clientv3.Client, opts replicaOptions) (*replica, error) {
	rs, err := etcd.New[*controller.ReplicaSet](client, etcd.Options{Prefix: opts.Prefix + "/replicasets"})
	if err != nil {
		return nil, err
	}
	pods, err := etcd.New[*controller.Pod](client, etcd.Options{Prefix: opts.Prefix + "/pods"})
	if err != nil {
		return nil, err
	}
	return newReplicaOn(client, opts, rs, pods)
}

// replicaSets is where a replica keeps its ReplicaSets: an etcd Source,
// or one a test holds back.
type replicaSets interface {
	controlloop.Client[*controller.ReplicaSet]
	controlloop.ListerWatcher[*controller.ReplicaSet]
}

// newReplicaOn wires a replica on the given sources, electing through
// client under opts.Prefix and fencing the Pod writes by its elector.
func newReplicaOn(client *clientv3.Client, opts replicaOptions, rs replicaSets, pods *etcd.Source[*controller.Pod]) (*replica, error) {
	elector, err := etcd.NewElector(client, etcd.ElectorOptions{
		Prefix: opts.Prefix + "/leader", Identity: opts.Identity, TTL: opts.TTL, Logger: opts.Logger,
	})
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

// runReplica runs a replica, and then alongside it, until ctx ends, then
// returns or the replica stops by itself (a permanent leader election
// error, say); then it stops the replica and waits until it has let go of
// etcd. It returns the replica's errors joined with then's: none is
// dropped, except then's context error when the replica's end ended it.
func runReplica(ctx context.Context, r *replica, then func(context.Context, *replica) error) error {
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	thenCtx, stopThen := context.WithCancelCause(ctx)
	defer stopThen(nil)
	var runErr error
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		runErr = r.sys.Run(runCtx)
		stopThen(errReplicaStopped)
	}()
	err := then(thenCtx, r)
	if errors.Is(context.Cause(thenCtx), errReplicaStopped) && errors.Is(err, context.Canceled) {
		err = nil // then was cut short by the replica's end: Run says why
	}
	stop()
	<-ran
	r.elector.Wait()
	return errors.Join(err, runErr)
}

// errReplicaStopped is the cause of then's context's end when the replica
// stopped by itself.
var errReplicaStopped = errors.New("the replica stopped")

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

// removeLeftovers deletes the ReplicaSet key, if an earlier run on the
// same etcd and prefix left it, and waits until the caches show neither it
// nor a Pod it controlled, so that the scenario starts afresh. The
// replica's controller deletes those Pods, as it does for any ReplicaSet
// gone, so the replica must lead.
func (r *replica) removeLeftovers(ctx context.Context, key controlloop.Key, out io.Writer) error {
	switch err := r.sys.ReplicaSets.Delete(ctx, key, controlloop.DeleteOptions{}); {
	case errors.Is(err, controlloop.ErrNotFound):
	case err != nil:
		return fmt.Errorf("remove ReplicaSet %s of an earlier run: %w", key, err)
	default:
		fmt.Fprintf(out, "removed ReplicaSet %s, left by an earlier run\n", key)
	}
	var indexErr error
	gone := func() bool {
		_, err := r.sys.RSReader.Get(key)
		owned, ierr := r.sys.PodReader.ByIndex(controller.OwnerIndex, key.String())
		if ierr != nil {
			indexErr = ierr
			return true
		}
		return errors.Is(err, controlloop.ErrNotFound) && len(controlloop.Collect(owned)) == 0
	}
	// Checked as the caches change, never on a timer.
	if err := r.sys.WaitUntil(ctx, gone); err != nil {
		return fmt.Errorf("waiting for the Pods of an earlier run to go: %w", err)
	}
	return indexErr
}
