// Command sharded runs a ReplicaSet controller sharded over N replicas on
// etcd (package shard with the etcd module's Coordinator): each replica
// reconciles only the ReplicaSets whose slots it holds, and every write it
// makes is fenced by its slot's epoch. The replicas run in this one
// process, each with its own etcd client, member, informer and controller,
// as separate processes would.
//
// With no -endpoints it starts an embedded etcd in a temporary directory.
// It creates -replicasets ReplicaSets, starts -replicas replicas, waits
// until they share the slots and have scaled every ReplicaSet, then kills
// one replica (its client closes first, so it cannot leave: its claims
// outlive it by -ttl) while the ReplicaSets are scaled up, and then stops
// another cleanly (it leaves the ring, which frees its claims at once).
// After each step it prints the slots that moved, how long the handoff
// took and how long until every ReplicaSet had converged:
//
//	go run ./examples/sharded                     # from the etcd module
//	go run ./examples/sharded -replicas 5 -replicasets 500
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/etcd"
	"github.com/controlloop/controlloop/etcd/etcdtest"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/reconcile"
	"github.com/controlloop/controlloop/reflector"
	"github.com/controlloop/controlloop/shard"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// ReplicaSet is the example's object: a wanted number of replicas, and the
// number a reconcile has made ready, with the replica that did it.
type ReplicaSet struct {
	controlloop.ObjectMeta
	Replicas int    `json:"replicas"`
	Ready    int    `json:"ready,omitempty"`
	By       string `json:"by,omitempty"`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "sharded:", err)
		os.Exit(1)
	}
}

// config is what the flags set.
type config struct {
	replicas, replicaSets int
	ttl, window, latency  time.Duration
	prefix                string
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("sharded", flag.ContinueOnError)
	var cc etcd.ClientConfig
	cc.RegisterFlags(fs)
	var cfg config
	fs.IntVar(&cfg.replicas, "replicas", 4, "replicas to start (at least 3: one is killed, one leaves)")
	fs.IntVar(&cfg.replicaSets, "replicasets", 200, "ReplicaSets to create")
	fs.DurationVar(&cfg.ttl, "ttl", 3*time.Second, "session lease TTL: how long a killed replica's claims outlive it")
	fs.DurationVar(&cfg.window, "window", 2*time.Second, "stabilisation window")
	fs.DurationVar(&cfg.latency, "latency", 10*time.Millisecond, "each reconcile's fixed I/O latency")
	fs.StringVar(&cfg.prefix, "prefix", fmt.Sprintf("/controlloop/sharded-%d", time.Now().UnixNano()), "etcd key prefix")
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(out)
			fs.PrintDefaults()
			return nil
		}
		return fmt.Errorf("%w (-h for usage)", err)
	}
	if cfg.replicas < 3 || cfg.replicaSets < 1 {
		return fmt.Errorf("-replicas is %d, -replicasets %d: need at least 3 and 1", cfg.replicas, cfg.replicaSets)
	}
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
		fmt.Fprintf(out, "started an embedded etcd at %s\n", cc.Endpoints[0])
	}
	ccfg, err := cc.Config()
	if err != nil {
		return err
	}
	ccfg.Logger = zap.NewNop()
	dial := func() (*clientv3.Client, error) { return clientv3.New(ccfg) }
	d := &demo{cfg: cfg, dial: dial, out: out, replicas: map[string]*replica{}}
	return d.play(ctx)
}

// demo is the running example.
type demo struct {
	cfg  config
	dial func() (*clientv3.Client, error)
	out  io.Writer
	src  *etcd.Source[*ReplicaSet] // the user's: creates and scales

	mu       sync.Mutex // protects replicas
	replicas map[string]*replica
}

// replica is one replica of the controller.
type replica struct {
	id     string
	member *shard.Member
	client *clientv3.Client
	cancel context.CancelFunc
	done   chan struct{}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func (d *demo) play(ctx context.Context) error {
	client, err := d.dial()
	if err != nil {
		return err
	}
	defer client.Close()
	if d.src, err = etcd.New[*ReplicaSet](client, etcd.Options{Prefix: d.cfg.prefix + "/replicasets"}); err != nil {
		return err
	}
	for i := range d.cfg.replicaSets {
		rs := &ReplicaSet{ObjectMeta: controlloop.ObjectMeta{Namespace: "default", Name: fmt.Sprintf("rs-%04d", i)}, Replicas: 3}
		if _, err := d.src.Create(ctx, rs); err != nil {
			return err
		}
	}
	defer d.stopAll()
	start := time.Now()
	for i := range d.cfg.replicas {
		if err := d.start(ctx, fmt.Sprintf("replica-%d", i)); err != nil {
			return err
		}
	}
	if err := d.converge(ctx); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "%d replicas share %d slots (%s); %d ReplicaSets ready after %v\n",
		d.cfg.replicas, shardSlots, d.ownership(), d.cfg.replicaSets, time.Since(start).Round(time.Millisecond))

	ids := d.live()
	if err := d.step(ctx, "kill "+ids[1], func() { d.kill(ids[1]) }, 5); err != nil {
		return err
	}
	if err := d.step(ctx, "stop "+ids[2]+" (a clean leave)", func() { d.stop(ids[2]) }, 7); err != nil {
		return err
	}
	fmt.Fprintln(d.out, "done")
	return nil
}

// shardSlots is the ring's number of slots: the default.
const shardSlots = 1024

// step does change, scales every ReplicaSet to scale, and reports the
// slots that moved, the handoff time (until the live replicas work every
// slot) and the convergence time (until every ReplicaSet is ready).
func (d *demo) step(ctx context.Context, what string, change func(), scale int) error {
	before := d.owners()
	start := time.Now()
	change()
	if err := d.scale(ctx, scale); err != nil {
		return err
	}
	handoff, err := d.waitSlots(ctx, start)
	if err != nil {
		return err
	}
	if err := d.converge(ctx); err != nil {
		return err
	}
	after := d.owners()
	moved := map[string]int{}
	for slot, o := range after {
		if before[slot] != o {
			moved[before[slot]+" -> "+o]++
		}
	}
	var lines []string
	for k, n := range moved {
		lines = append(lines, fmt.Sprintf("%s: %d", k, n))
	}
	slices.Sort(lines)
	fmt.Fprintf(d.out, "%s: slots moved {%s}; handoff %v; all %d ReplicaSets at %d replicas after %v\n",
		what, strings.Join(lines, ", "), handoff.Round(time.Millisecond), d.cfg.replicaSets, scale, time.Since(start).Round(time.Millisecond))
	return nil
}

// start starts a replica: its own client, coordinator, fenced source,
// informer, member and controller.
func (d *demo) start(ctx context.Context, id string) error {
	client, err := d.dial()
	if err != nil {
		return err
	}
	src, err := etcd.New[*ReplicaSet](client, etcd.Options{Prefix: d.cfg.prefix + "/replicasets"})
	if err != nil {
		return err
	}
	coord, err := etcd.NewCoordinator(client, etcd.CoordinatorOptions{Prefix: d.cfg.prefix, TTL: d.cfg.ttl, Logger: quiet})
	if err != nil {
		return err
	}
	inf, err := informer.New[*ReplicaSet](src, informer.Options[*ReplicaSet]{Logger: quiet, Reflector: reflector.Options{Logger: quiet}})
	if err != nil {
		return err
	}
	m, err := shard.New(coord, shard.Options{Ring: "replicasets", ID: id, Window: d.cfg.window, Logger: quiet,
		Keys: shard.KeysOf(inf.Reader().All()), Fresh: etcd.Fresh(src, inf.LastSyncResourceVersion)})
	if err != nil {
		return err
	}
	fenced := src.ShardFenced(coord) // every write compares the slot's epoch
	reader := inf.Reader()
	latency := d.cfg.latency
	ctrl, err := reconcile.New(reconcile.Func[reconcile.Request](func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
		rs, err := reader.Get(req)
		if errors.Is(err, controlloop.ErrNotFound) || (err == nil && rs.Ready == rs.Replicas) {
			return reconcile.Result{}, nil
		}
		if err != nil {
			return reconcile.Result{}, err
		}
		time.Sleep(latency) // starting the Pods
		next := *rs
		next.Ready, next.By = rs.Replicas, id
		_, err = fenced.UpdateStatus(ctx, &next)
		if errors.Is(err, shard.ErrFenced) {
			return reconcile.Result{}, nil // the slot moved: its new owner will do it
		}
		return reconcile.Result{}, err
	}), reconcile.Options[reconcile.Request]{Name: "replicasets", Workers: 4, Admitter: m, Logger: quiet})
	if err != nil {
		return err
	}
	if _, err := reconcile.Watch(ctrl, inf, reconcile.ForObject[*ReplicaSet]()); err != nil {
		return err
	}
	m.Attach(ctrl.Queue())
	rctx, cancel := context.WithCancel(ctx)
	r := &replica{id: id, member: m, client: client, cancel: cancel, done: make(chan struct{})}
	d.mu.Lock()
	d.replicas[id] = r
	d.mu.Unlock()
	var wg sync.WaitGroup
	for _, run := range []func(context.Context) error{inf.Run, ctrl.Run, m.Run} {
		wg.Go(func() {
			if err := run(rctx); err != nil && !errors.Is(err, context.Canceled) {
				fmt.Fprintf(d.out, "%s: %v\n", id, err)
			}
		})
	}
	go func() { wg.Wait(); client.Close(); close(r.done) }()
	return nil
}

// kill stops a replica as a crash would: its client closes first.
func (d *demo) kill(id string) {
	r := d.remove(id)
	r.client.Close()
	r.cancel()
	<-r.done
}

// stop stops a replica cleanly: it leaves the ring.
func (d *demo) stop(id string) {
	r := d.remove(id)
	r.cancel()
	<-r.done
}

func (d *demo) remove(id string) *replica {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.replicas[id]
	delete(d.replicas, id)
	return r
}

func (d *demo) stopAll() {
	for _, id := range d.live() {
		d.stop(id)
	}
}

func (d *demo) live() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var ids []string
	for id := range d.replicas {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// owners returns the replica working each slot ("" for none).
func (d *demo) owners() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	owners := make([]string, shardSlots)
	for id, r := range d.replicas {
		for _, slot := range r.member.Owned() {
			owners[slot] = id
		}
	}
	return owners
}

// ownership summarises owners as "id:count" pairs.
func (d *demo) ownership() string {
	n := map[string]int{}
	for _, o := range d.owners() {
		n[o]++
	}
	var parts []string
	for _, id := range d.live() {
		parts = append(parts, fmt.Sprintf("%s:%d", id, n[id]))
	}
	return strings.Join(parts, " ")
}

// waitSlots waits until the live replicas work every slot, each the one
// rendezvous hashing picks, and returns how long since start that took.
func (d *demo) waitSlots(ctx context.Context, start time.Time) (time.Duration, error) {
	err := poll(ctx, func() bool {
		live := d.live()
		for slot, o := range d.owners() {
			if o == "" || o != shard.Owner(slot, live) {
				return false
			}
		}
		return true
	})
	return time.Since(start), err
}

// converge waits until every ReplicaSet is ready.
func (d *demo) converge(ctx context.Context) error {
	return poll(ctx, func() bool {
		res, err := d.src.List(ctx, controlloop.ListOptions{})
		if err != nil {
			return false
		}
		for _, rs := range res.Items {
			if rs.Ready != rs.Replicas {
				return false
			}
		}
		return true
	})
}

// scale sets every ReplicaSet's Replicas to n, as a user would.
func (d *demo) scale(ctx context.Context, n int) error {
	res, err := d.src.List(ctx, controlloop.ListOptions{})
	if err != nil {
		return err
	}
	for _, rs := range res.Items {
		for {
			rs.Replicas = n
			if _, err = d.src.Update(ctx, rs); !errors.Is(err, controlloop.ErrConflict) {
				break
			}
			if rs, err = d.src.Get(ctx, controlloop.KeyOf(rs)); err != nil {
				return err
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// poll checks cond every 20ms for a minute.
func poll(ctx context.Context, cond func() bool) error {
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New("no convergence within a minute")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}
