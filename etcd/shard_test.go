package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/etcd"
	"github.com/controlloop/controlloop/etcd/etcdtest"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/reconcile"
	"github.com/controlloop/controlloop/reflector"
	"github.com/controlloop/controlloop/shard"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// TestShardCoordinator runs the coordination primitives on every kind of
// server: the slot count is stored once, a live member ID cannot join
// twice, claims are create-if-absent with rising epochs, releases compare
// the epoch, views follow, and closing a session frees its claims.
func TestShardCoordinator(t *testing.T) {
	onEveryServer(t, allKinds, etcdtest.Options{}, func(t *testing.T, srv *etcdtest.Server) {
		ctx := testContext(t, 60*time.Second)
		coord, err := etcd.NewCoordinator(srv.Client(t), etcd.CoordinatorOptions{Prefix: fmt.Sprintf("/test/shard-%d", prefixes.Add(1)), TTL: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		a, err := coord.Join(ctx, "ring", "a", 8)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close(ctx)
		if _, err := coord.Join(ctx, "ring", "b", 16); !errors.Is(err, controlloop.ErrInvalid) {
			t.Errorf("Join with another slot count: %v, want ErrInvalid", err)
		}
		if _, err := coord.Join(ctx, "ring", "a", 8); !errors.Is(err, shard.ErrMemberInUse) {
			t.Errorf("Join with a live ID: %v, want ErrMemberInUse", err)
		}
		b, err := coord.Join(ctx, "ring", "b", 8)
		if err != nil {
			t.Fatal(err)
		}
		e1, err := a.Claim(ctx, 3)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Claim(ctx, 3); !errors.Is(err, shard.ErrClaimed) {
			t.Errorf("claim of a held slot: %v, want ErrClaimed", err)
		}
		if err := b.Release(ctx, 3, e1-1); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "b's view of a's claim and both members", func() bool {
			v := b.View()
			return len(v.Claims) == 8 && v.Claims[3] == shard.Claim{Owner: "a", Epoch: e1} && slices.Equal(v.Members, []string{"a", "b"})
		})
		if err := a.Release(ctx, 3, e1); err != nil {
			t.Fatal(err)
		}
		e2, err := b.Claim(ctx, 3)
		if err != nil || e2 <= e1 {
			t.Fatalf("claim after release: epoch %d, %v; want above %d", e2, err, e1)
		}
		if err := b.Close(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case <-b.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("Done not closed after Close")
		}
		eventually(t, 10*time.Second, "a's view without b and its claim", func() bool {
			v := a.View()
			return len(v.Claims) == 8 && v.Claims[3] == shard.Claim{} && slices.Equal(v.Members, []string{"a"})
		})
	})
}

// TestShardFencedWrites: a write through ShardFenced commits under the
// current claim of its slot and is refused, with ErrFenced and no change,
// under an earlier claim of the same session or with no token.
func TestShardFencedWrites(t *testing.T) {
	onEveryServer(t, allKinds, etcdtest.Options{}, func(t *testing.T, srv *etcdtest.Server) {
		ctx := testContext(t, 60*time.Second)
		c := srv.Client(t)
		coord, err := etcd.NewCoordinator(c, etcd.CoordinatorOptions{Prefix: fmt.Sprintf("/test/shard-%d", prefixes.Add(1))})
		if err != nil {
			t.Fatal(err)
		}
		src := newSource(t, c)
		fenced := src.ShardFenced(coord)
		s, err := coord.Join(ctx, "ring", "a", 8)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close(ctx)
		old, err := s.Claim(ctx, 5)
		if err != nil {
			t.Fatal(err)
		}
		oldCtx := shard.WithToken(ctx, shard.Token{Ring: "ring", Member: "a", Slot: 5, Epoch: old})
		p, err := fenced.Create(oldCtx, pod("ns", "p", nil))
		if err != nil {
			t.Fatalf("write under the current claim: %v", err)
		}
		if err := s.Release(ctx, 5, old); err != nil {
			t.Fatal(err)
		}
		cur, err := s.Claim(ctx, 5)
		if err != nil {
			t.Fatal(err)
		}
		p.Status = "stale"
		if _, err := fenced.UpdateStatus(oldCtx, p); !errors.Is(err, shard.ErrFenced) {
			t.Errorf("write under the earlier claim: %v, want ErrFenced", err)
		}
		if err := fenced.Delete(oldCtx, controlloop.KeyOf(p), controlloop.DeleteOptions{}); !errors.Is(err, shard.ErrFenced) {
			t.Errorf("delete under the earlier claim: %v, want ErrFenced", err)
		}
		if _, err := fenced.Create(ctx, pod("ns", "q", nil)); !errors.Is(err, shard.ErrFenced) {
			t.Errorf("write without a token: %v, want ErrFenced", err)
		}
		got, err := src.Get(ctx, controlloop.KeyOf(p))
		if err != nil || got.Status != "" {
			t.Errorf("after refused writes: %+v, %v; want it unchanged", got, err)
		}
		curCtx := shard.WithToken(ctx, shard.Token{Ring: "ring", Member: "a", Slot: 5, Epoch: cur})
		if _, err := fenced.UpdateStatus(curCtx, p); err != nil {
			t.Errorf("write under the new claim: %v", err)
		}
	})
}

// shardEnv runs replicas of one sharded controller of pods on an etcd
// server, each with its own client, member, informer and controller, and
// checks exclusivity as the reconciles run.
type shardEnv struct {
	t      testing.TB
	srv    *etcdtest.Server
	prefix string
	src    *etcd.Source[*Pod] // the test's own, for writes and checks
	coord  *etcd.Coordinator

	mu       sync.Mutex // protects the fields below
	replicas map[string]*shardReplica
	running  map[controlloop.Key][]*shardRun
	started  map[int]int64
	problems []string
	fenced   int
}

type shardReplica struct {
	id     string
	member *shard.Member
	client *clientv3.Client
	cancel context.CancelFunc
	done   chan struct{}
	killed bool
}

type shardRun struct {
	replica  string
	epoch    int64
	leftover bool // its replica was killed while it ran
}

const (
	shardSlots  = 128
	shardTTL    = 2 * time.Second
	shardWindow = 500 * time.Millisecond
)

func newShardEnv(t testing.TB, srv *etcdtest.Server, objects int) *shardEnv {
	e := &shardEnv{t: t, srv: srv, prefix: fmt.Sprintf("/test/sharded-%d", prefixes.Add(1)),
		replicas: map[string]*shardReplica{}, running: map[controlloop.Key][]*shardRun{}, started: map[int]int64{}}
	c := srv.Client(t)
	var err error
	if e.src, err = etcd.New[*Pod](c, etcd.Options{Prefix: e.prefix + "/pods"}); err != nil {
		t.Fatal(err)
	}
	if e.coord, err = etcd.NewCoordinator(c, etcd.CoordinatorOptions{Prefix: e.prefix, TTL: shardTTL}); err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t, 30*time.Second)
	for i := range objects {
		p := pod("ns", fmt.Sprintf("pod-%03d", i), nil)
		p.Spec = "1"
		if _, err := e.src.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(e.stopAll)
	return e
}

func (e *shardEnv) start(id string) {
	t := e.t
	client, err := e.srv.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	src, err := etcd.New[*Pod](client, etcd.Options{Prefix: e.prefix + "/pods"})
	if err != nil {
		t.Fatal(err)
	}
	coord, err := etcd.NewCoordinator(client, etcd.CoordinatorOptions{Prefix: e.prefix, TTL: shardTTL, Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	inf, err := informer.New[*Pod](src, informer.Options[*Pod]{Logger: quietLog, Reflector: reflector.Options{Logger: quietLog, InitialBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := shard.New(coord, shard.Options{Ring: "pods", ID: id, Slots: shardSlots, Window: shardWindow, DrainTimeout: 5 * time.Second,
		Logger: quietLog, Keys: shard.KeysOf(inf.Reader().All()), Fresh: etcd.Fresh(src, inf.LastSyncResourceVersion)})
	if err != nil {
		t.Fatal(err)
	}
	r := &shardReplica{id: id, member: m, client: client, done: make(chan struct{})}
	fenced := src.ShardFenced(coord)
	reader := inf.Reader()
	ctrl, err := reconcile.New(reconcile.Func[reconcile.Request](func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
		return e.reconcile(ctx, r, reader, fenced, req)
	}), reconcile.Options[reconcile.Request]{Name: "pods-" + id, Workers: 4, Admitter: m, Logger: quietLog, ShutdownGracePeriod: 5 * time.Second, SyncPeriod: reconcile.NoSync})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reconcile.Watch(ctrl, inf, reconcile.ForObject[*Pod]()); err != nil {
		t.Fatal(err)
	}
	m.Attach(ctrl.Queue())
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	e.mu.Lock()
	e.replicas[id] = r
	e.mu.Unlock()
	var wg sync.WaitGroup
	for _, run := range []func(context.Context) error{inf.Run, ctrl.Run, m.Run} {
		wg.Go(func() { _ = run(ctx) })
	}
	go func() { wg.Wait(); client.Close(); close(r.done) }()
}

// stop stops replica id cleanly: its member leaves the ring.
func (e *shardEnv) stop(id string) {
	e.mu.Lock()
	r := e.replicas[id]
	delete(e.replicas, id)
	e.mu.Unlock()
	r.cancel()
	<-r.done
}

// kill stops replica id as a crash would: its client closes first, so it
// cannot leave the ring, and its claims outlive it by the lease TTL.
func (e *shardEnv) kill(id string) {
	e.mu.Lock()
	r := e.replicas[id]
	delete(e.replicas, id)
	r.killed = true
	for _, runs := range e.running {
		for _, o := range runs {
			if o.replica == id {
				o.leftover = true
			}
		}
	}
	e.mu.Unlock()
	r.client.Close()
	r.cancel()
	<-r.done
}

func (e *shardEnv) stopAll() {
	e.mu.Lock()
	var ids []string
	for id := range e.replicas {
		ids = append(ids, id)
	}
	e.mu.Unlock()
	for _, id := range ids {
		e.stop(id)
	}
}

func (e *shardEnv) live() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var ids []string
	for id := range e.replicas {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (e *shardEnv) problem(format string, args ...any) {
	e.mu.Lock()
	e.problems = append(e.problems, fmt.Sprintf(format, args...))
	e.mu.Unlock()
}

func (e *shardEnv) check() {
	e.t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range e.problems[:min(10, len(e.problems))] {
		e.t.Error(p)
	}
	if len(e.problems) > 0 {
		e.t.FailNow()
	}
}

// reconcile checks that no other replica has req in flight under a claim
// that is not a killed replica's leftover, and that slot epochs do not
// fall; then it writes Spec back as Status through the fenced source, and
// checks that no write succeeds after a newer epoch's reconcile started.
func (e *shardEnv) reconcile(ctx context.Context, r *shardReplica, reader informer.Reader[*Pod], fenced *etcd.Source[*Pod], req reconcile.Request) (reconcile.Result, error) {
	tok, ok := shard.TokenFrom(ctx)
	if !ok {
		e.problem("%s reconciles %v without a token", r.id, req)
		return reconcile.Result{}, nil
	}
	run := &shardRun{replica: r.id, epoch: tok.Epoch}
	e.mu.Lock()
	for _, o := range e.running[req] {
		if !o.leftover || o.epoch >= tok.Epoch {
			e.problems = append(e.problems, fmt.Sprintf("%s enters %v (epoch %d) while %s has it in flight (epoch %d)", r.id, req, tok.Epoch, o.replica, o.epoch))
		}
	}
	if tok.Epoch < e.started[tok.Slot] {
		e.problems = append(e.problems, fmt.Sprintf("%s starts slot %d under epoch %d after epoch %d", r.id, tok.Slot, tok.Epoch, e.started[tok.Slot]))
	}
	e.started[tok.Slot] = max(e.started[tok.Slot], tok.Epoch)
	e.running[req] = append(e.running[req], run)
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		e.running[req] = slices.DeleteFunc(e.running[req], func(o *shardRun) bool { return o == run })
		e.mu.Unlock()
	}()

	time.Sleep(10 * time.Millisecond) // the reconcile's I/O
	p, err := reader.Get(req)
	if errors.Is(err, controlloop.ErrNotFound) {
		return reconcile.Result{}, nil
	}
	if err != nil || p.Status == p.Spec {
		return reconcile.Result{}, err
	}
	next := *p
	next.Status = p.Spec
	_, err = fenced.UpdateStatus(ctx, &next)
	switch {
	case errors.Is(err, shard.ErrFenced):
		e.mu.Lock()
		e.fenced++
		e.mu.Unlock()
		return reconcile.Result{}, nil
	case err != nil:
		return reconcile.Result{}, err
	}
	e.mu.Lock()
	if newer := e.started[tok.Slot]; newer > tok.Epoch {
		e.problems = append(e.problems, fmt.Sprintf("%s wrote %v under epoch %d after epoch %d started", r.id, req, tok.Epoch, newer))
	}
	e.mu.Unlock()
	return reconcile.Result{}, nil
}

// touch changes every pod's Spec to v.
func (e *shardEnv) touch(v string) {
	ctx := testContext(e.t, 60*time.Second)
	res, err := e.src.List(ctx, controlloop.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, p := range res.Items {
		for {
			p.Spec = v
			if _, err = e.src.Update(ctx, p); !errors.Is(err, controlloop.ErrConflict) {
				break
			}
			if p, err = e.src.Get(ctx, controlloop.KeyOf(p)); err != nil {
				break
			}
		}
		if err != nil {
			e.t.Fatal(err)
		}
	}
}

// converged reports what keeps the ring from its steady state: a slot not
// claimed by the member HRW picks among the live replicas, or a pod not
// reconciled. It reads the claims from etcd directly.
func (e *shardEnv) converged(ctx context.Context) []string {
	live := e.live()
	resp, err := e.src.List(ctx, controlloop.ListOptions{})
	if err != nil {
		return []string{err.Error()}
	}
	var why []string
	for _, p := range resp.Items {
		if p.Status != p.Spec {
			why = append(why, fmt.Sprintf("%s/%s: spec %q status %q", p.Namespace, p.Name, p.Spec, p.Status))
		}
	}
	owned := 0
	for _, id := range live {
		e.mu.Lock()
		r := e.replicas[id]
		e.mu.Unlock()
		for _, slot := range r.member.Owned() {
			owned++
			if want := shard.Owner(slot, live); want != id {
				why = append(why, fmt.Sprintf("%s works slot %d, HRW picks %s", id, slot, want))
			}
		}
	}
	if owned != shardSlots {
		why = append(why, fmt.Sprintf("%d of %d slots worked", owned, shardSlots))
	}
	return why
}

func (e *shardEnv) waitConverged(what string, d time.Duration) time.Duration {
	e.t.Helper()
	ctx := testContext(e.t, d+10*time.Second)
	start := time.Now()
	var why []string
	for time.Since(start) < d {
		if why = e.converged(ctx); len(why) == 0 {
			e.check()
			return time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Fatalf("%s: not converged after %v: %d problems, such as %q", what, d, len(why), why[:min(3, len(why))])
	return 0
}

// TestShardedController runs issue 15's protocol on etcd (embedded, and
// the external server as one member and as three): replicas join, one is
// killed (its claims outlive it by the lease TTL), one leaves cleanly, two
// more join; after each step every pod changed is reconciled and every
// slot is worked by the replica HRW picks, and no reconcile overlaps
// another of the same key except a killed replica's leftover.
func TestShardedController(t *testing.T) {
	onEveryServer(t, allKinds, etcdtest.Options{}, func(t *testing.T, srv *etcdtest.Server) {
		e := newShardEnv(t, srv, 40)
		for _, id := range []string{"r0", "r1", "r2"} {
			e.start(id)
		}
		bound := shardTTL + shardWindow + 20*time.Second
		t.Logf("3 replicas: converged in %v", e.waitConverged("start", bound))
		e.touch("2")
		e.kill("r1")
		t.Logf("r1 killed: converged in %v", e.waitConverged("kill", bound))
		e.touch("3")
		e.stop("r2")
		t.Logf("r2 left: converged in %v", e.waitConverged("leave", bound))
		e.start("r3")
		e.start("r4")
		e.touch("4")
		t.Logf("r3, r4 joined: converged in %v", e.waitConverged("join", bound))
		t.Logf("%d fenced writes", e.fenced)
	})
}

// TestShardedChaos is issue 15's test 6: on a three-member cluster,
// replicas are killed and the raft leader is killed and restarted while
// pods change; the invariants are checked throughout, and the ring
// converges after each blow.
func TestShardedChaos(t *testing.T) {
	embedded3 := serverKind{"embedded-3", false, 3}
	onEveryServer(t, []serverKind{embedded3, clusterKind}, etcdtest.Options{}, func(t *testing.T, srv *etcdtest.Server) {
		e := newShardEnv(t, srv, 40)
		for _, id := range []string{"r0", "r1", "r2", "r3"} {
			e.start(id)
		}
		bound := shardTTL + shardWindow + 40*time.Second
		e.waitConverged("start", bound)
		ctx := testContext(t, 120*time.Second)
		for round := range 2 {
			leader, err := srv.Leader(ctx)
			if err != nil {
				t.Fatal(err)
			}
			leader.Kill()
			e.kill(e.live()[0])
			e.start(fmt.Sprintf("n%d", round))
			eventually(t, 30*time.Second, "writes without the old leader", func() bool {
				wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				defer cancel()
				_, err := e.src.List(wctx, controlloop.ListOptions{})
				return err == nil
			})
			e.touch(fmt.Sprint("chaos-", round))
			if err := leader.Start(ctx); err != nil {
				t.Fatal(err)
			}
			t.Logf("round %d: converged in %v", round, e.waitConverged(fmt.Sprint("round ", round), bound))
		}
		t.Logf("%d fenced writes", e.fenced)
	})
}
