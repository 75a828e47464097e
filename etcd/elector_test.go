package etcd_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/etcd"
	"github.com/controlloop/controlloop/etcd/etcdtest"
	"github.com/controlloop/controlloop/reconcile"
	clientv3 "go.etcd.io/etcd/client/v3"
)

type leadResult struct {
	ctx context.Context
	err error
	at  time.Time
}

// campaign runs e.Lead(ctx) in the background. Tests cancel ctx before
// the elector's Wait, which newElector registers as a cleanup.
func campaign(ctx context.Context, e *etcd.Elector) <-chan leadResult {
	ch := make(chan leadResult, 1)
	go func() {
		lctx, err := e.Lead(ctx)
		ch <- leadResult{lctx, err, time.Now()}
	}()
	return ch
}

func newElector(t testing.TB, c *clientv3.Client, prefix, id string, ttl time.Duration) *etcd.Elector {
	t.Helper()
	e, err := etcd.NewElector(c, etcd.ElectorOptions{Prefix: prefix, Identity: id, TTL: ttl, Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Wait)
	return e
}

func lead(t testing.TB, ctx context.Context, e *etcd.Elector) context.Context {
	t.Helper()
	r := <-campaign(ctx, e)
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.ctx
}

func notYet(t testing.TB, ch <-chan leadResult, d time.Duration) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("second candidate led (err %v) while the first leads", r.err)
	case <-time.After(d):
	}
}

func waitDone(t testing.TB, ctx context.Context, d time.Duration, what string) {
	t.Helper()
	select {
	case <-ctx.Done():
	case <-time.After(d):
		t.Fatalf("%s: lead context not cancelled within %v", what, d)
	}
}

// TestElectorFailover: the leader is cut off from etcd by a network
// partition (its requests hang, nothing is refused), so its lease is no
// longer renewed: the other candidate leads within TTL + 1s. The old leader
// cannot hear of it; it gives up by itself once its lease has gone
// unrenewed for 2/3 of the TTL, normally before the other starts. Once the
// partition heals, its fenced writes under the old term are refused.
func TestElectorFailover(t *testing.T) {
	const ttl = 2 * time.Second
	srv := etcdtest.Start(t, etcdtest.Options{})
	link, err := srv.NewLink()
	if err != nil {
		t.Fatal(err)
	}
	ca, err := clientv3.New(clientv3.Config{Endpoints: link.Endpoints(), DialTimeout: 5 * time.Second, Logger: quietZap()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ca.Close() })
	cb := srv.Client(t)
	a := newElector(t, ca, "/election/failover", "a", ttl)
	b := newElector(t, cb, "/election/failover", "b", ttl)
	ctx := testContext(t, 30*time.Second) // cancelled before the electors are waited for
	srcA := newSource(t, ca).Fenced(a)

	leadA := lead(t, ctx, a)
	obj, err := srcA.Create(leadA, pod("", "x", nil))
	if err != nil {
		t.Fatal(err)
	}
	bLeads := campaign(ctx, b)
	notYet(t, bLeads, 300*time.Millisecond)
	if got, err := b.Leader(ctx); err != nil || got != "a" {
		t.Fatalf("Leader() = %q, %v; want a", got, err)
	}

	t0 := time.Now()
	link.Partition()
	aLost := make(chan time.Duration, 1)
	go func() { <-leadA.Done(); aLost <- time.Since(t0) }()
	select {
	case r := <-bLeads:
		if r.err != nil {
			t.Fatal(r.err)
		}
		d := r.at.Sub(t0)
		t.Logf("failover: the other candidate led %v after the partition (TTL %v)", d.Round(time.Millisecond), ttl)
		if d > ttl+time.Second {
			t.Errorf("failover took %v, want at most TTL + 1s = %v", d, ttl+time.Second)
		}
	case <-time.After(ttl + 3*time.Second):
		t.Fatalf("no new leader %v after the old one was partitioned", ttl+3*time.Second)
	}
	select {
	case d := <-aLost:
		t.Logf("the partitioned leader gave up %v after the partition", d.Round(time.Millisecond))
		if d > ttl*2/3+time.Second {
			t.Errorf("the partitioned leader gave up after %v, want at most 2/3 TTL + 1s", d)
		}
	case <-time.After(2*ttl + 2*time.Second):
		t.Fatal("the partitioned leader never gave up")
	}
	if got, _ := b.Leader(ctx); got != "b" {
		t.Errorf("Leader() = %q after failover, want b", got)
	}

	link.Heal()
	obj.Spec = "late"
	if _, err := srcA.Update(context.WithoutCancel(leadA), obj); !errors.Is(err, etcd.ErrNotLeader) {
		t.Errorf("deposed leader's fenced write after the partition healed: %v, want ErrNotLeader", err)
	}
}

// TestFencedWriteOfDeposedLeader: the leader's lease is revoked behind its
// back; etcd refuses its fenced writes, made under its old term, while the
// new leader's go through.
func TestFencedWriteOfDeposedLeader(t *testing.T) {
	e := newEnv(t, etcdtest.Options{})
	cb := e.srv.Client(t)
	a := newElector(t, e.client, "/election/fence", "a", 5*time.Second)
	b := newElector(t, cb, "/election/fence", "b", 5*time.Second)
	ctx := testContext(t, 30*time.Second)
	srcA := e.src.Fenced(a)
	srcB, err := etcd.New[*Pod](cb, etcd.Options{Prefix: e.src.Prefix()})
	if err != nil {
		t.Fatal(err)
	}
	srcB = srcB.Fenced(b)

	if _, err := srcA.Create(ctx, pod("", "early", nil)); !errors.Is(err, etcd.ErrNotLeader) {
		t.Errorf("fenced write before leading: %v, want ErrNotLeader", err)
	}
	leadA := lead(t, ctx, a)
	work := context.WithoutCancel(leadA) // a reconcile in flight keeps its term
	obj, err := srcA.Create(work, pod("", "x", nil))
	if err != nil {
		t.Fatalf("fenced write of the leader: %v", err)
	}
	if !a.Leading() || b.Leading() {
		t.Errorf("Leading: a %v b %v", a.Leading(), b.Leading())
	}

	bLeads := campaign(ctx, b)
	notYet(t, bLeads, 200*time.Millisecond)
	// Depose a: revoke its lease from b's client, as its expiry would.
	resp, err := cb.Get(ctx, "/election/fence/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range resp.Kvs {
		if string(kv.Value) == "a" {
			if _, err := cb.Revoke(ctx, clientv3.LeaseID(kv.Lease)); err != nil {
				t.Fatal(err)
			}
		}
	}
	r := <-bLeads
	if r.err != nil {
		t.Fatal(r.err)
	}
	waitDone(t, leadA, 5*time.Second, "deposed leader")

	// a's in-flight write carries its old term: etcd refuses it.
	obj.Spec = "from the deposed leader"
	_, err = srcA.Update(work, obj)
	if !errors.Is(err, etcd.ErrNotLeader) {
		t.Fatalf("deposed leader's fenced update: %v, want ErrNotLeader", err)
	}
	t.Logf("deposed leader's write refused: %v", err)
	if _, err := srcA.Create(work, pod("", "y", nil)); !errors.Is(err, etcd.ErrNotLeader) {
		t.Errorf("deposed leader's fenced create: %v, want ErrNotLeader", err)
	}
	if err := srcA.Delete(work, controlloop.KeyOf(obj), controlloop.DeleteOptions{}); !errors.Is(err, etcd.ErrNotLeader) {
		t.Errorf("deposed leader's fenced delete: %v, want ErrNotLeader", err)
	}
	if got, _ := e.src.Get(ctx, controlloop.KeyOf(obj)); got == nil || got.Spec != "" {
		t.Errorf("the refused update was applied: %+v", got)
	}
	// The new leader's writes go through, under its lead context or not.
	if _, err := srcB.Update(r.ctx, obj); err != nil {
		t.Errorf("new leader's fenced update: %v", err)
	}
	if _, err := srcB.Create(ctx, pod("", "z", nil)); err != nil {
		t.Errorf("new leader's fenced create without its lead context: %v", err)
	}
	// Errors of the object itself still come first.
	if _, err := srcB.Create(ctx, pod("", "z", nil)); !errors.Is(err, controlloop.ErrAlreadyExists) {
		t.Errorf("fenced create of an existing key: %v, want ErrAlreadyExists", err)
	}
}

// TestElectorResignsWhenContextEnds: a leader whose context ends resigns at
// once, and the next candidate in line leads; a waiting candidate whose
// context ends withdraws.
func TestElectorResignsWhenContextEnds(t *testing.T) {
	srv := etcdtest.Start(t, etcdtest.Options{})
	c := srv.Client(t)
	const ttl = 10 * time.Second // far longer than the test waits
	a := newElector(t, c, "/election/resign", "a", ttl)
	b := newElector(t, c, "/election/resign", "b", ttl)
	d := newElector(t, c, "/election/resign", "d", ttl)
	ctx := testContext(t, 30*time.Second)

	actx, stopA := context.WithCancel(ctx)
	leadA := lead(t, actx, a)
	bLeads := campaign(ctx, b)
	dctx, stopD := context.WithCancel(ctx)
	dLeads := campaign(dctx, d)
	notYet(t, bLeads, 200*time.Millisecond)

	stopD() // d withdraws while waiting
	if r := <-dLeads; !errors.Is(r.err, context.Canceled) {
		t.Fatalf("withdrawn candidate: %v, want context.Canceled", r.err)
	}
	t0 := time.Now()
	stopA()
	waitDone(t, leadA, time.Second, "resigning leader")
	select {
	case r := <-bLeads:
		if r.err != nil {
			t.Fatal(r.err)
		}
		t.Logf("handover on resign took %v", r.at.Sub(t0).Round(time.Millisecond))
		if d := r.at.Sub(t0); d > time.Second {
			t.Errorf("handover took %v, want well under the TTL", d)
		}
	case <-time.After(ttl / 2):
		t.Fatal("the next candidate did not lead after the leader resigned")
	}
	a.Wait()
	if a.Leading() {
		t.Error("a still reports leading")
	}
	resp, err := c.Get(ctx, "/election/resign/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil || resp.Count != 1 {
		t.Errorf("candidate keys: %v %v, want only the leader's", resp.Count, err)
	}
}

func TestNewElectorRejectsBadOptions(t *testing.T) {
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{"127.0.0.1:1"}, DialTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := etcd.NewElector(nil, etcd.ElectorOptions{Prefix: "/e"}); !errors.Is(err, controlloop.ErrInvalid) {
		t.Errorf("nil client: %v", err)
	}
	for _, o := range []etcd.ElectorOptions{{}, {Prefix: "//"}, {Prefix: "/e", TTL: -time.Second}} {
		if _, err := etcd.NewElector(c, o); !errors.Is(err, controlloop.ErrInvalid) {
			t.Errorf("%+v: %v", o, err)
		}
	}
}

// TestElectorSurvivesRestart: an etcd restart shorter than the TTL does not
// depose the leader: its lease survives, its client reconnects and its
// fenced writes still commit.
func TestElectorSurvivesRestart(t *testing.T) {
	e := newEnv(t, etcdtest.Options{})
	a := newElector(t, e.client, "/election/restart", "a", 5*time.Second)
	ctx := testContext(t, 30*time.Second)
	leadA := lead(t, ctx, a)
	if err := e.srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	fenced := e.src.Fenced(a)
	eventually(t, wait, "a fenced write after the restart", func() bool {
		_, err := fenced.Create(leadA, pod("", "after-restart", nil))
		if errors.Is(err, etcd.ErrNotLeader) {
			t.Fatalf("deposed by a restart: %v", err)
		}
		return err == nil
	})
	select {
	case <-leadA.Done():
		t.Fatal("leadership lost across a short restart")
	case <-time.After(500 * time.Millisecond):
	}
}

// TestElectorLeadReturnsWhenEtcdIsDown: Lead returns when its context ends
// even if etcd does not answer, and Wait returns within the cleanup bound.
func TestElectorLeadReturnsWhenEtcdIsDown(t *testing.T) {
	srv := etcdtest.Start(t, etcdtest.Options{})
	c := srv.Client(t)
	a := newElector(t, c, "/election/down", "a", 2*time.Second)
	b := newElector(t, c, "/election/down", "b", 2*time.Second)
	ctx := testContext(t, 30*time.Second)
	actx, stopA := context.WithCancel(ctx)
	defer stopA()
	lead(t, actx, a)
	bctx, stopB := context.WithCancel(ctx)
	bLeads := campaign(bctx, b)
	notYet(t, bLeads, 200*time.Millisecond)

	srv.Stop()
	t0 := time.Now()
	stopB()
	select {
	case r := <-bLeads:
		if !errors.Is(r.err, context.Canceled) {
			t.Errorf("Lead: %v, want context.Canceled", r.err)
		}
		if d := r.at.Sub(t0); d > time.Second {
			t.Errorf("Lead returned %v after its context ended", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Lead did not return after its context ended with etcd down")
	}
	// A new campaign with etcd down ends with its context too.
	dctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if r := <-campaign(dctx, b); !errors.Is(r.err, context.DeadlineExceeded) {
		t.Errorf("Lead with etcd down: %v, want context.DeadlineExceeded", r.err)
	}
	stopA()
	done := make(chan struct{})
	go func() { a.Wait(); b.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return with etcd down")
	}
}

var _ reconcile.LeaderElector = (*etcd.Elector)(nil)

// TestElectorSharesTermAmongCallers: the Lead calls of one elector (the
// controllers of one process) share one candidacy: they lead together, and
// the elector resigns only when the last of them is done.
func TestElectorSharesTermAmongCallers(t *testing.T) {
	srv := etcdtest.Start(t, etcdtest.Options{})
	c := srv.Client(t)
	a := newElector(t, c, "/election/shared", "a", 10*time.Second)
	b := newElector(t, c, "/election/shared", "b", 10*time.Second)
	ctx := testContext(t, 30*time.Second)

	ctx1, stop1 := context.WithCancel(ctx)
	ctx2, stop2 := context.WithCancel(ctx)
	r1, r2 := campaign(ctx1, a), campaign(ctx2, a)
	lead1, lead2 := <-r1, <-r2
	if lead1.err != nil || lead2.err != nil {
		t.Fatal(lead1.err, lead2.err)
	}
	resp, err := c.Get(ctx, "/election/shared/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil || resp.Count != 1 {
		t.Fatalf("candidate keys: %d %v, want one for both callers", resp.Count, err)
	}
	bLeads := campaign(ctx, b)
	stop1()
	waitDone(t, lead1.ctx, time.Second, "first caller")
	notYet(t, bLeads, 300*time.Millisecond)
	if lead2.ctx.Err() != nil || !a.Leading() {
		t.Fatal("the second caller lost leadership when the first left")
	}
	stop2()
	waitDone(t, lead2.ctx, time.Second, "second caller")
	select {
	case r := <-bLeads:
		if r.err != nil {
			t.Fatal(r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a did not resign once both callers left")
	}
}
