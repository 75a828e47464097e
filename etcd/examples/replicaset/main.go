// Command replicaset runs the project's ReplicaSet example on etcd: the
// same controller package as examples/replicaset, with ReplicaSets and
// Pods stored in etcd, and leader election, so that several copies of the
// program can run as replicas of one controller.
//
// With no -endpoints it starts an embedded etcd in a temporary directory,
// plays the example's scenario (create a ReplicaSet, scale up, lose a Pod,
// scale down), prints the final state and exits 0. The scenario first
// removes the ReplicaSet nsA/rsA and its Pods if an earlier run on the same
// etcd and -prefix left them, so it can be played again:
//
//	go run ./examples/replicaset                        # from the etcd module
//	go run ./examples/replicaset -endpoints http://127.0.0.1:2379
//	go run ./examples/replicaset -endpoints ... -scenario=false   # one more replica, until interrupted
//
// TLS and authentication: -etcd-cacert, -etcd-cert, -etcd-key, -etcd-user
// and -etcd-password-file (see etcd.ClientConfig); the password is never
// printed.
//
// Writes of Pods go through a Source fenced by the elector, so a replica
// that lost leadership cannot create or delete Pods. ReplicaSet writes
// (status, and the scenario's own edits, which play a user) are not
// fenced: they are compare-and-swap writes either way. The scenario waits
// until this replica leads. The replica's one elector is its manager's:
// both controllers lead together. A leader election that fails for good
// (the etcd user may not write the election's keys) ends the program with
// that error.
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

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/etcd"
	"github.com/controlloop/controlloop/etcd/etcdtest"
	"github.com/controlloop/controlloop/examples/replicaset/controller"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "replicaset:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	out = controller.SharedOutput(out) // the trace and the report share it
	fs := flag.NewFlagSet("replicaset", flag.ContinueOnError)
	var cc etcd.ClientConfig
	cc.RegisterFlags(fs)
	prefix := fs.String("prefix", "/controlloop/example", "etcd key prefix of the example's objects and election")
	identity := fs.String("identity", "", "this replica's name in the election (default: host-pid)")
	ttl := fs.Duration("ttl", 10*time.Second, "leader lease TTL: how long a crashed leader blocks a takeover")
	var flags controller.Flags
	flags.Register(fs)
	scenario := fs.Bool("scenario", true, "play the scenario and exit; false: run as a replica until interrupted")
	fs.SetOutput(io.Discard) // errors are returned; -h prints the usage to out
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(out)
			fmt.Fprintln(out, "Usage of replicaset:")
			fs.PrintDefaults()
			return nil
		}
		return fmt.Errorf("%w (-h for usage)", err)
	}
	if err := flags.Check(); err != nil {
		return err
	}
	logger := flags.Logger()

	if len(cc.Endpoints) == 0 {
		srv, err := etcdtest.New(etcdtest.Options{})
		if err != nil {
			return err
		}
		defer srv.Close()
		if err := srv.Start(ctx); err != nil {
			return err
		}
		cc.Endpoints = srv.Endpoints()
		fmt.Fprintf(out, "started an embedded etcd at %s (data in %s)\n", cc.Endpoints[0], srv.Dir())
	}
	logger.Info("connecting to etcd", "etcd", cc) // LogValue hides the password
	cfg, err := cc.Config()
	if err != nil {
		return err
	}
	cfg.Logger = zap.NewNop()
	client, err := clientv3.New(cfg)
	if err != nil {
		return err
	}
	defer client.Close()

	r, err := newReplica(client, replicaOptions{
		Prefix: *prefix, Identity: *identity, TTL: *ttl, Workers: flags.Workers, Logger: logger,
		Trace: controller.NewTracer(out),
	})
	if err != nil {
		return err
	}
	return runReplica(ctx, r, func(ctx context.Context, r *replica) error {
		if !*scenario {
			fmt.Fprintln(out, "running as a replica; interrupt to stop")
			<-ctx.Done()
			return nil
		}
		if err := r.waitLeading(ctx); err != nil {
			return err
		}
		key := controlloop.Key{Namespace: "nsA", Name: "rsA"}
		if err := r.removeLeftovers(ctx, key, out); err != nil {
			return err
		}
		return controller.Scenario{Key: key, Replicas: flags.Replicas, Trace: r.trace}.Run(ctx, r.sys, out)
	})
}
