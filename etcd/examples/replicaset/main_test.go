package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/etcd"
	"github.com/controlloop/controlloop/etcd/etcdtest"
	"github.com/controlloop/controlloop/examples/replicaset/controller"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/goleak"
	"go.uber.org/zap"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.DiscardHandler)

// TestRunEmbedded: with no endpoints the program starts its own etcd, plays
// the scenario and ends with one running Pod.
func TestRunEmbedded(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, []string{"-replicas", "2", "-ttl", "2s"}, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{
		"started an embedded etcd at http://127.0.0.1:",
		"step 4: converged",
		"ReplicaSet nsA/rsA: generation 3, spec.replicas 1, status 1/1 ready (observed generation 3)",
		"Pod nsA/rsA-0: Running, owned by ReplicaSet rsA",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

func TestRunBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-replicas", "0"}, {"-nope"}, {"-endpoints", "http://127.0.0.1:1", "-etcd-cert", "c.pem"}} {
		if err := run(context.Background(), args, io.Discard); err == nil {
			t.Errorf("run(%q): no error", args)
		}
	}
}

// node is one replica of the example on its own etcd client.
type node struct {
	name   string
	client *clientv3.Client
	link   *etcdtest.Link
	r      *replica
	stop   context.CancelFunc
	done   chan error
	killed sync.Once
}

func startNode(t *testing.T, srv *etcdtest.Server, name string, ttl time.Duration) *node {
	t.Helper()
	link, err := srv.NewLink()
	if err != nil {
		t.Fatal(err)
	}
	client, err := clientv3.New(clientv3.Config{Endpoints: link.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	n := &node{name: name, client: client, link: link, done: make(chan error, 1)}
	var ctx context.Context
	ctx, n.stop = context.WithCancel(context.Background())
	ready := make(chan *replica, 1)
	go func() {
		n.done <- runReplica(ctx, client, replicaOptions{
			Prefix: "/example", Identity: name, TTL: ttl, Workers: 2, Logger: quiet,
		}, func(ctx context.Context, r *replica) error {
			ready <- r
			<-ctx.Done()
			return nil
		})
	}()
	n.r = <-ready
	t.Cleanup(func() { n.kill(t); client.Close() })
	return n
}

// kill ends the node's context and waits until it has stopped, once.
func (n *node) kill(t *testing.T) {
	n.killed.Do(func() {
		n.link.Heal()
		n.stop()
		select {
		case err := <-n.done:
			if err != nil {
				t.Errorf("%s: %v", n.name, err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("%s did not stop", n.name)
		}
	})
}

// TestTwoReplicasFailover runs two replicas of the ReplicaSet controller on
// one etcd with leader election. The leader stops (its context ends: it
// resigns) or is partitioned from etcd; the other takes over, and the
// ReplicaSet, scaled meanwhile, converges with no Pod created twice.
func TestTwoReplicasFailover(t *testing.T) {
	for _, how := range []string{"resign", "partition"} {
		t.Run(how, func(t *testing.T) {
			const ttl = 2 * time.Second
			srv := etcdtest.Start(t, etcdtest.Options{})
			user := srv.Client(t)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			a := startNode(t, srv, "a", ttl)
			b := startNode(t, srv, "b", ttl)

			rsClient, err := etcd.New[*controller.ReplicaSet](user, etcd.Options{Prefix: "/example/replicasets"})
			if err != nil {
				t.Fatal(err)
			}
			podClient, err := etcd.New[*controller.Pod](user, etcd.Options{Prefix: "/example/pods"})
			if err != nil {
				t.Fatal(err)
			}
			key := controlloop.Key{Namespace: "nsA", Name: "rsA"}
			three, labels := 3, map[string]string{"app": "rsA"}
			if _, err := rsClient.Create(ctx, &controller.ReplicaSet{
				ObjectMeta: controlloop.ObjectMeta{Namespace: key.Namespace, Name: key.Name},
				Spec: controller.ReplicaSetSpec{Replicas: &three, Selector: labels,
					Template: controller.PodTemplate{Labels: labels, Image: "nginx:1.27"}},
			}); err != nil {
				t.Fatal(err)
			}
			waitConverged(t, ctx, rsClient, podClient, key, 3, 20*time.Second)

			leader, other := a, b
			if b.r.elector.Leading() {
				leader, other = b, a
			}
			if !leader.r.elector.Leading() || other.r.elector.Leading() {
				t.Fatalf("leading: a %v, b %v; want exactly one", a.r.elector.Leading(), b.r.elector.Leading())
			}
			t0 := time.Now()
			switch how {
			case "resign":
				leader.kill(t)
			case "partition":
				leader.link.Partition()
			}
			// Scale while the leader is gone: only the other can act on it.
			scale(t, ctx, rsClient, key, 5)
			deadline := time.Now().Add(ttl + time.Second)
			for !other.r.elector.Leading() {
				if time.Now().After(deadline) {
					t.Fatalf("%s did not lead within TTL + 1s", other.name)
				}
				time.Sleep(5 * time.Millisecond)
			}
			t.Logf("%s: %s took over %v after the leader's %s", how, other.name, time.Since(t0).Round(time.Millisecond), how)
			waitConverged(t, ctx, rsClient, podClient, key, 5, 20*time.Second)
			t.Logf("%s: converged at 5 replicas %v after the leader's %s", how, time.Since(t0).Round(time.Millisecond), how)
			if how == "partition" {
				if leader.r.elector.Leading() {
					t.Error("the partitioned replica still believes it leads")
				}
				// Whatever it held back reaches etcd now, and is refused.
				leader.link.Heal()
				time.Sleep(200 * time.Millisecond)
				waitConverged(t, ctx, rsClient, podClient, key, 5, 5*time.Second)
			}
			checkCreatedOnce(t, ctx, user, "/example/pods/", 5)
		})
	}
}

// scale sets the ReplicaSet's replicas, as a user would.
func scale(t *testing.T, ctx context.Context, c *etcd.Source[*controller.ReplicaSet], key controlloop.Key, n int) {
	t.Helper()
	for {
		rs, err := c.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		rs.Spec.Replicas = &n
		if _, err = c.Update(ctx, rs); !errors.Is(err, controlloop.ErrConflict) {
			if err != nil {
				t.Fatal(err)
			}
			return
		}
	}
}

// waitConverged waits until etcd holds the ReplicaSet converged at n
// replicas with exactly n Running Pods.
func waitConverged(t *testing.T, ctx context.Context, rsc *etcd.Source[*controller.ReplicaSet], pc *etcd.Source[*controller.Pod], key controlloop.Key, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		state, ok := converged(ctx, rsc, pc, key, n)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not converged at %d replicas after %v: %s", n, timeout, state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func converged(ctx context.Context, rsc *etcd.Source[*controller.ReplicaSet], pc *etcd.Source[*controller.Pod], key controlloop.Key, n int) (string, bool) {
	rs, err := rsc.Get(ctx, key)
	if err != nil {
		return err.Error(), false
	}
	pods, err := pc.List(ctx, controlloop.ListOptions{Selector: controlloop.Selector{Namespace: key.Namespace}})
	if err != nil {
		return err.Error(), false
	}
	running := 0
	for _, p := range pods.Items {
		if p.Phase == controller.Running {
			running++
		}
	}
	state := fmt.Sprintf("replicas %d, status %+v, %d pods, %d running", *rs.Spec.Replicas, rs.Status, len(pods.Items), running)
	return state, *rs.Spec.Replicas == n && rs.Converged() && len(pods.Items) == n && running == n
}

// checkCreatedOnce replays the whole history of the Pods' keys from etcd
// and fails unless exactly want Pods were created, each once.
func checkCreatedOnce(t *testing.T, ctx context.Context, c *clientv3.Client, prefix string, want int) {
	t.Helper()
	// A write after everything: the replay is complete when it shows up.
	end, err := c.Put(ctx, prefix+"~end", "")
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	creates := map[string]int{}
	for resp := range c.Watch(wctx, prefix, clientv3.WithPrefix(), clientv3.WithRev(1)) {
		if err := resp.Err(); err != nil {
			t.Fatal(err)
		}
		for _, ev := range resp.Events {
			if ev.Kv.ModRevision >= end.Header.Revision {
				cancel()
				break
			}
			if ev.IsCreate() {
				creates[string(ev.Kv.Key)]++
			}
		}
	}
	if len(creates) != want {
		t.Errorf("%d pods created, want %d: %v", len(creates), want, creates)
	}
	for k, n := range creates {
		if n > 1 {
			t.Errorf("pod %s created %d times", k, n)
		}
	}
}
