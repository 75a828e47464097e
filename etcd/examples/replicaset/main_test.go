package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/etcd"
	"github.com/controlloop/controlloop/etcd/etcdtest"
	"github.com/controlloop/controlloop/examples/replicaset/controller"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
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

// TestRunHelp (issue 13, item 6): -h prints the usage to the output and
// is no error, so the program exits 0 (it exited 1).
func TestRunHelp(t *testing.T) {
	for _, arg := range []string{"-h", "-help"} {
		var out bytes.Buffer
		if err := run(context.Background(), []string{arg}, &out); err != nil {
			t.Errorf("run(%s): %v", arg, err)
		}
		for _, want := range []string{"Usage of replicaset:", "-endpoints", "-scenario"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("run(%s) output lacks %q:\n%s", arg, want, out.String())
			}
		}
	}
}

// TestRunTwice (issue 13, item 6): a second run on the same etcd and
// prefix plays the scenario again (it failed: the ReplicaSet already
// exists): it first removes what the first run left. A third run finds
// only a Pod, whose ReplicaSet was deleted while no replica ran: the
// controller removes it before the scenario starts.
func TestRunTwice(t *testing.T) {
	srv := etcdtest.Start(t, etcdtest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := []string{"-endpoints", srv.Endpoints()[0], "-prefix", "/twice", "-replicas", "2", "-ttl", "2s"}
	rsClient, err := etcd.New[*controller.ReplicaSet](srv.Client(t), etcd.Options{Prefix: "/twice/replicasets"})
	if err != nil {
		t.Fatal(err)
	}
	for i, left := range []string{"", "removed ReplicaSet nsA/rsA, left by an earlier run", ""} {
		if i == 2 {
			if err := rsClient.Delete(ctx, controlloop.Key{Namespace: "nsA", Name: "rsA"}, controlloop.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		var out bytes.Buffer
		if err := run(ctx, args, &out); err != nil {
			t.Fatalf("run %d: %v\n%s", i+1, err, out.String())
		}
		got := out.String()
		if removed := strings.Contains(got, "left by an earlier run"); removed != (left != "") || !strings.Contains(got, left) {
			t.Errorf("run %d: want %q in the output:\n%s", i+1, left, got)
		}
		// The scenario starts from no Pods, then converges.
		for _, want := range []string{"want 2, have 0: create 2", "step 4: converged", "Pod nsA/rsA-0: Running, owned by ReplicaSet rsA"} {
			if !strings.Contains(got, want) {
				t.Errorf("run %d: output lacks %q:\n%s", i+1, want, got)
			}
		}
	}
}

// TestRunEndsWithLeaderElectionError: a replica whose leader election
// fails for good (its etcd user may not write the election's keys) ends
// the program at once with that error, whether it plays the scenario
// (waiting to lead) or runs as a replica until interrupted.
func TestRunEndsWithLeaderElectionError(t *testing.T) {
	srv := etcdtest.Start(t, etcdtest.Options{})
	admin := srv.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const pw = "ctl-password"
	for _, step := range []func() error{
		func() error { _, err := admin.UserAdd(ctx, "root", "root-password"); return err },
		func() error { _, err := admin.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := admin.RoleAdd(ctx, "ctl"); return err },
		func() error {
			_, err := admin.RoleGrantPermission(ctx, "ctl", "/example/replicasets/", clientv3.GetPrefixRangeEnd("/example/replicasets/"), clientv3.PermissionType(clientv3.PermReadWrite))
			return err
		},
		func() error {
			_, err := admin.RoleGrantPermission(ctx, "ctl", "/example/pods/", clientv3.GetPrefixRangeEnd("/example/pods/"), clientv3.PermissionType(clientv3.PermReadWrite))
			return err
		},
		func() error { _, err := admin.UserAdd(ctx, "ctl", pw); return err },
		func() error { _, err := admin.UserGrantRole(ctx, "ctl", "ctl"); return err },
		func() error { _, err := admin.AuthEnable(ctx); return err },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte(pw), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, scenario := range []string{"true", "false"} {
		t.Run("scenario="+scenario, func(t *testing.T) {
			args := []string{"-endpoints", srv.Endpoints()[0], "-etcd-user", "ctl", "-etcd-password-file", pwFile,
				"-prefix", "/example", "-ttl", "2s", "-scenario=" + scenario}
			t0 := time.Now()
			err := run(ctx, args, io.Discard)
			if !errors.Is(err, rpctypes.ErrPermissionDenied) {
				t.Fatalf("run: %v, want the election's permission denied", err)
			}
			if ctx.Err() != nil {
				t.Fatalf("run returned only when its context ended (%v)", time.Since(t0))
			}
			t.Logf("run ended %v after its start: %v", time.Since(t0).Round(time.Millisecond), err)
		})
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
	return startNodeOn(t, srv, name, ttl, func(s *etcd.Source[*controller.ReplicaSet]) replicaSets { return s }, nil)
}

// startNodeOn starts a node whose ReplicaSets are the etcd Source as
// wrapped by rs, tracing to trace.
func startNodeOn(t *testing.T, srv *etcdtest.Server, name string, ttl time.Duration, rs func(*etcd.Source[*controller.ReplicaSet]) replicaSets, trace *controller.Tracer) *node {
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
	rsSource, pods := sources(t, client, "/example")
	n.r, err = newReplicaOn(client, replicaOptions{
		Prefix: "/example", Identity: name, TTL: ttl, Workers: 2, Logger: quiet, Trace: trace,
	}, rs(rsSource), pods)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		n.done <- runReplica(ctx, n.r, func(ctx context.Context, r *replica) error {
			<-ctx.Done()
			return nil
		})
	}()
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

// sources returns the example's ReplicaSet and Pod sources under prefix.
func sources(t *testing.T, c *clientv3.Client, prefix string) (*etcd.Source[*controller.ReplicaSet], *etcd.Source[*controller.Pod]) {
	t.Helper()
	rs, err := etcd.New[*controller.ReplicaSet](c, etcd.Options{Prefix: prefix + "/replicasets"})
	if err != nil {
		t.Fatal(err)
	}
	pods, err := etcd.New[*controller.Pod](c, etcd.Options{Prefix: prefix + "/pods"})
	if err != nil {
		t.Fatal(err)
	}
	return rs, pods
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

			rsClient, podClient := sources(t, user, "/example")
			key := controlloop.Key{Namespace: "nsA", Name: "rsA"}
			createReplicaSet(t, ctx, rsClient, key, 3)
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

// TestTakeoverWithLaggingReplicaSetCache is the cause of the
// TestTwoReplicasFailover/resign flake (issue 13, item 0: "pod rsA-0
// created 2 times" for each Pod made before the failover), made
// deterministic. Two informers have no order between them: a replica's
// ReplicaSet watch can lag behind its Pod watch (etcd serves a watch still
// catching up on history later than one that is current). The replica
// taking over found rsA's Pods in its cache but not yet rsA, took rsA for
// deleted and deleted its Pods, then recreated them once rsA arrived. The
// same lag with rsA in the cache at an older spec deleted the Pods of a
// scale-up as surplus. Here b's ReplicaSet watch is held back until b,
// leading, has reconciled rsA once: no Pod may be deleted on the strength
// of that cache, so each is created once.
func TestTakeoverWithLaggingReplicaSetCache(t *testing.T) {
	for _, lag := range []string{"missing", "older spec"} {
		t.Run(lag, func(t *testing.T) {
			srv := etcdtest.Start(t, etcdtest.Options{})
			user := srv.Client(t)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			const ttl = 2 * time.Second
			a := startNode(t, srv, "a", ttl)
			if err := a.r.waitLeading(ctx); err != nil {
				t.Fatal(err)
			}
			g := newGate(lag == "missing")
			var trace traceLog
			b := startNodeOn(t, srv, "b", ttl, func(s *etcd.Source[*controller.ReplicaSet]) replicaSets {
				return laggingSource[*controller.ReplicaSet]{s, g}
			}, controller.NewTracer(&trace))
			// rsA must reach b through its watch, not its first list.
			select {
			case <-g.listed:
			case <-ctx.Done():
				t.Fatal("b's ReplicaSets were never listed")
			}

			rsClient, podClient := sources(t, user, "/example")
			key := controlloop.Key{Namespace: "nsA", Name: "rsA"}
			createReplicaSet(t, ctx, rsClient, key, 3)
			waitConverged(t, ctx, rsClient, podClient, key, 3, 20*time.Second)
			want := 3
			if lag == "older spec" {
				waitUntil(t, ctx, "b's cache shows rsA converged", func() bool {
					rs, err := b.r.sys.RSReader.Get(key)
					return err == nil && rs.Converged()
				})
				g.hold()
				want = 5
				scale(t, ctx, rsClient, key, want)
				waitConverged(t, ctx, rsClient, podClient, key, want, 20*time.Second)
			}
			waitUntil(t, ctx, "b's cache holds every Pod", func() bool { return b.r.sys.PodReader.Len() == want })

			a.kill(t)
			waitUntil(t, ctx, "b reconciles rsA", func() bool { return trace.has("reconcile ReplicaSet nsA/rsA:") })
			g.release()
			waitConverged(t, ctx, rsClient, podClient, key, want, 20*time.Second)
			checkCreatedOnce(t, ctx, user, "/example/pods/", want)
			if !trace.has("the cache is behind") {
				t.Error("b's reconcile did not find its cache behind the store")
			}
			if t.Failed() {
				t.Logf("b's trace:\n%s", trace.String())
			}
		})
	}
}

// gate holds back the events of laggingSource's watches while it is held.
type gate struct {
	listed chan struct{} // closed once a list has returned
	once   sync.Once     // closes listed

	mu   sync.Mutex    // protects open
	open chan struct{} // closed while the gate is open
}

func newGate(held bool) *gate {
	g := &gate{listed: make(chan struct{}), open: make(chan struct{})}
	if !held {
		close(g.open)
	}
	return g
}

// hold holds back every event not yet passed.
func (g *gate) hold() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open = make(chan struct{})
}

// release passes the events held back, and those to come.
func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	close(g.open)
}

func (g *gate) opened() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.open
}

// laggingSource passes the events of its watches through a gate, as a
// watch that lags behind the replica's others.
type laggingSource[T controlloop.Object] struct {
	*etcd.Source[T]
	gate *gate
}

func (s laggingSource[T]) List(ctx context.Context, opts controlloop.ListOptions) (controlloop.ListResult[T], error) {
	res, err := s.Source.List(ctx, opts)
	if err == nil {
		s.gate.once.Do(func() { close(s.gate.listed) })
	}
	return res, err
}

func (s laggingSource[T]) Watch(ctx context.Context, opts controlloop.WatchOptions) (<-chan controlloop.Event[T], error) {
	in, err := s.Source.Watch(ctx, opts)
	if err != nil {
		return nil, err
	}
	out := make(chan controlloop.Event[T])
	go func() {
		defer close(out)
		for ev := range in {
			select {
			case <-s.gate.opened():
			case <-ctx.Done():
				return
			}
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// traceLog keeps a replica's trace.
type traceLog struct {
	mu  sync.Mutex // protects buf
	buf strings.Builder
}

func (l *traceLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *traceLog) has(s string) bool { return strings.Contains(l.String(), s) }

func (l *traceLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// waitUntil polls cond until it holds, failing the test after 20s.
func waitUntil(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// createReplicaSet creates the ReplicaSet key with n replicas, as a user
// would.
func createReplicaSet(t *testing.T, ctx context.Context, c *etcd.Source[*controller.ReplicaSet], key controlloop.Key, n int) {
	t.Helper()
	labels := map[string]string{"app": key.Name}
	if _, err := c.Create(ctx, &controller.ReplicaSet{
		ObjectMeta: controlloop.ObjectMeta{Namespace: key.Namespace, Name: key.Name},
		Spec: controller.ReplicaSetSpec{Replicas: &n, Selector: labels,
			Template: controller.PodTemplate{Labels: labels, Image: "nginx:1.27"}},
	}); err != nil {
		t.Fatal(err)
	}
}

// TestDeposedReplicaCannotWritePods: the Pods client a replica's
// controllers write through is fenced by its elector: once the replica is
// deposed (its lease revoked behind its back, as an expiry would) and the
// other leads, its Pod writes are refused with ErrNotLeader, while its
// ReplicaSet writes, which are not fenced, still go through.
func TestDeposedReplicaCannotWritePods(t *testing.T) {
	srv := etcdtest.Start(t, etcdtest.Options{})
	user := srv.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a := startNode(t, srv, "a", 10*time.Second)
	if err := a.r.waitLeading(ctx); err != nil {
		t.Fatal(err)
	}
	b := startNode(t, srv, "b", 10*time.Second)
	// Once b campaigns (its key is next in line), depose a.
	var resp *clientv3.GetResponse
	for {
		var err error
		if resp, err = user.Get(ctx, "/example/leader/", clientv3.WithPrefix()); err != nil {
			t.Fatal(err)
		}
		if len(resp.Kvs) == 2 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, kv := range resp.Kvs {
		if string(kv.Value) == "a" {
			if _, err := user.Revoke(ctx, clientv3.LeaseID(kv.Lease)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := b.r.waitLeading(ctx); err != nil {
		t.Fatal(err)
	}
	p := &controller.Pod{ObjectMeta: controlloop.ObjectMeta{Namespace: "nsA", Name: "stray"}}
	if _, err := a.r.sys.Pods.Create(ctx, p); !errors.Is(err, etcd.ErrNotLeader) {
		t.Errorf("the deposed replica's Pod create: %v, want ErrNotLeader", err)
	}
	zero, labels := 0, map[string]string{"app": "rsA"}
	rs := &controller.ReplicaSet{
		ObjectMeta: controlloop.ObjectMeta{Namespace: "nsA", Name: "rsA"},
		Spec: controller.ReplicaSetSpec{Replicas: &zero, Selector: labels,
			Template: controller.PodTemplate{Labels: labels, Image: "nginx:1.27"}},
	}
	if _, err := a.r.sys.ReplicaSets.Create(ctx, rs); err != nil {
		t.Errorf("the deposed replica's ReplicaSet create (not fenced): %v", err)
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
	creates, history := podCreates(t, ctx, c, prefix)
	if len(creates) != want {
		t.Errorf("%d pods created, want %d: %v", len(creates), want, creates)
	}
	for k, n := range creates {
		if n > 1 {
			t.Errorf("pod %s created %d times: %q", k, n, history[k])
		}
	}
}

// podCreates replays the whole history of the keys under prefix from etcd
// and returns how many times each key was created, and its events.
func podCreates(t *testing.T, ctx context.Context, c *clientv3.Client, prefix string) (creates map[string]int, history map[string][]string) {
	t.Helper()
	// A write after everything, to the key just past the prefix (where no
	// Source reads): the replay is complete when it shows up.
	marker := clientv3.GetPrefixRangeEnd(prefix)
	end, err := c.Put(ctx, marker, "")
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	creates, history = map[string]int{}, map[string][]string{}
	for resp := range c.Watch(wctx, prefix, clientv3.WithRange(marker+"\x00"), clientv3.WithRev(1)) {
		if err := resp.Err(); err != nil {
			t.Fatal(err)
		}
		for _, ev := range resp.Events {
			k := string(ev.Kv.Key)
			switch {
			case ev.Kv.ModRevision >= end.Header.Revision:
				cancel()
			case k == marker: // an earlier replay's
			default:
				if ev.IsCreate() {
					creates[k]++
				}
				history[k] = append(history[k], fmt.Sprintf("%s@%d v%d %s", ev.Type, ev.Kv.ModRevision, ev.Kv.Version, ev.Kv.Value))
			}
		}
	}
	return creates, history
}
