package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/etcd"
	"github.com/controlloop/controlloop/etcd/etcdtest"
	"github.com/controlloop/controlloop/reconcile"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
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
	// Long enough that the third of it between giving up by itself and
	// etcd's expiry stands out from etcd's own delays in expiring a lease.
	const ttl = 4 * time.Second
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
	var bLed time.Duration
	select {
	case r := <-bLeads:
		if r.err != nil {
			t.Fatal(r.err)
		}
		d := r.at.Sub(t0)
		bLed = d
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
		// It gave up on its own renew deadline, a third of the TTL before
		// its lease expired: well before the other led, not at about the
		// same time, as it would on the client's own keepalive deadline.
		if early := bLed - d; early < ttl/4 {
			t.Errorf("the partitioned leader gave up %v before the other led, want at least TTL/4 = %v before", early, ttl/4)
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

// TestFencedWriteCarriesItsTerm: a fenced write made under a lead context
// is fenced by that context's term, not by the elector's current one: after
// the elector is deposed and leads again, a write left over from the old
// term is refused, while writes under the new term, or under no lead
// context, go through.
func TestFencedWriteCarriesItsTerm(t *testing.T) {
	e := newEnv(t, etcdtest.Options{})
	a := newElector(t, e.client, "/election/terms", "a", 5*time.Second)
	ctx := testContext(t, 30*time.Second)
	fenced := e.src.Fenced(a)

	lead1 := lead(t, ctx, a)
	old := context.WithoutCancel(lead1) // a reconcile of the first term
	obj, err := fenced.Create(old, pod("", "x", nil))
	if err != nil {
		t.Fatal(err)
	}
	// Depose a behind its back, as a lost lease would.
	resp, err := e.client.Get(ctx, "/election/terms/", clientv3.WithPrefix())
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("election keys: %v %v", resp, err)
	}
	if _, err := e.client.Revoke(ctx, clientv3.LeaseID(resp.Kvs[0].Lease)); err != nil {
		t.Fatal(err)
	}
	waitDone(t, lead1, 5*time.Second, "deposed leader")
	lead2 := lead(t, ctx, a)

	obj.Spec = "from the first term"
	if _, err := fenced.Update(old, obj); !errors.Is(err, etcd.ErrNotLeader) {
		t.Errorf("write of the first term while the second leads: %v, want ErrNotLeader", err)
	}
	obj.Spec = "from the second term"
	if _, err := fenced.Update(lead2, obj); err != nil {
		t.Errorf("write of the second term: %v", err)
	}
	if _, err := fenced.Create(ctx, pod("", "y", nil)); err != nil {
		t.Errorf("write under no lead context while leading: %v", err)
	}
}

// TestElectorKeyDeletedEndsTerm: the term ends when its key is deleted,
// even while its lease lives on: the lead context is cancelled and fenced
// writes are refused.
func TestElectorKeyDeletedEndsTerm(t *testing.T) {
	e := newEnv(t, etcdtest.Options{})
	a := newElector(t, e.client, "/election/deleted", "a", 10*time.Second)
	ctx := testContext(t, 30*time.Second)
	leadA := lead(t, ctx, a)
	if _, err := e.client.Delete(ctx, "/election/deleted/", clientv3.WithPrefix()); err != nil {
		t.Fatal(err)
	}
	waitDone(t, leadA, 5*time.Second, "leader whose key was deleted")
	if _, err := e.src.Fenced(a).Create(context.WithoutCancel(leadA), pod("", "x", nil)); !errors.Is(err, etcd.ErrNotLeader) {
		t.Errorf("fenced write of the ended term: %v, want ErrNotLeader", err)
	}
}

// TestElectorResignsWhenContextEnds: a leader whose context ends resigns at
// once, and the next candidate in line leads; a waiting candidate whose
// context ends withdraws.
func TestElectorResignsWhenContextEnds(t *testing.T) {
	srv := etcdtest.Start(t, etcdtest.Options{})
	c := srv.Client(t)
	const ttl = 10 * time.Second // far longer than the test waits
	var warnings warnLog
	elector := func(id string) *etcd.Elector {
		e, err := etcd.NewElector(c, etcd.ElectorOptions{Prefix: "/election/resign", Identity: id, TTL: ttl, Logger: slog.New(&warnings)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(e.Wait)
		return e
	}
	a, b, d := elector("a"), elector("b"), elector("d")
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
	// a resigned and d withdrew: once Wait returns, each has revoked its
	// lease, deleting its key, or given up trying after min(TTL, 3s) and
	// said so (the key then lasts until the lease expires).
	a.Wait()
	d.Wait()
	if a.Leading() {
		t.Error("a still reports leading")
	}
	resp, err := c.Get(ctx, "/election/resign/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	switch {
	case err != nil:
		t.Fatal(err)
	case resp.Count != 1 && warnings.has("etcd: revoke lease failed"):
		t.Logf("%d candidate keys: a revoke failed (%q): they expire with their lease", resp.Count, warnings.String())
	case resp.Count != 1:
		t.Errorf("%d candidate keys, want only the leader's", resp.Count)
	}
}

// warnLog is a slog.Handler that keeps warnings and errors: each message
// with the attributes of its call.
type warnLog struct {
	mu   sync.Mutex // protects msgs
	msgs []string
}

func (l *warnLog) Enabled(_ context.Context, level slog.Level) bool { return level >= slog.LevelWarn }

func (l *warnLog) Handle(_ context.Context, r slog.Record) error {
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool {
		msg += " " + a.String()
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, msg)
	return nil
}

func (l *warnLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *warnLog) WithGroup(string) slog.Handler      { return l }

func (l *warnLog) has(msg string) bool { return strings.Contains(l.String(), msg) }

func (l *warnLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.msgs, "; ")
}

// TestElectorReportsCampaignError (issue 13, item 6): a candidate whose
// etcd user may not write the election's keys fails at once with etcd's
// permission denied, and says so: the error no longer claims that the
// lease was lost while campaigning (the check read the session's context
// after closing the session, which had ended it).
func TestElectorReportsCampaignError(t *testing.T) {
	srv := etcdtest.Start(t, etcdtest.Options{})
	ctx := testContext(t, 30*time.Second)
	c := limitedUser(t, ctx, srv, "/elsewhere/")
	e := newElector(t, c, "/election/denied", "a", 10*time.Second)
	lctx, err := e.Lead(ctx)
	if err == nil {
		t.Fatalf("Lead without permission led (%v)", lctx)
	}
	if !errors.Is(err, rpctypes.ErrPermissionDenied) {
		t.Errorf("Lead: %v, want permission denied", err)
	}
	if strings.Contains(err.Error(), "lease lost") {
		t.Errorf("Lead: %q blames a lost lease", err)
	}
	if ctx.Err() != nil {
		t.Error("Lead returned only when its context ended")
	}
	t.Logf("Lead: %v", err)
}

// TestElectorCampaignsAgainOnLostLease: a candidate whose lease is lost
// while it waits (revoked behind its back, as an expiry would) campaigns
// again at once with a new lease, rather than waiting for the leader to
// leave; it says why in its warning, and revoking its lost lease, already
// gone, is no failure worth a warning.
func TestElectorCampaignsAgainOnLostLease(t *testing.T) {
	srv := etcdtest.Start(t, etcdtest.Options{})
	c := srv.Client(t)
	a := newElector(t, c, "/election/relost", "a", 10*time.Second)
	var warnings warnLog
	b, err := etcd.NewElector(c, etcd.ElectorOptions{Prefix: "/election/relost", Identity: "b", TTL: 10 * time.Second, Logger: slog.New(&warnings)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Wait)
	ctx := testContext(t, 30*time.Second) // ends before the electors' Wait
	actx, stopA := context.WithCancel(ctx)
	defer stopA()
	lead(t, actx, a)
	bLeads := campaign(ctx, b)
	keyOf := func(id string) *mvccpb.KeyValue {
		resp, err := c.Get(ctx, "/election/relost/", clientv3.WithPrefix())
		if err != nil {
			t.Fatal(err)
		}
		for _, kv := range resp.Kvs {
			if string(kv.Value) == id {
				return kv
			}
		}
		return nil
	}
	eventually(t, 5*time.Second, "b campaigns", func() bool { return keyOf("b") != nil })
	first := keyOf("b")
	if _, err := c.Revoke(ctx, clientv3.LeaseID(first.Lease)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "b campaigns again while a leads", func() bool {
		kv := keyOf("b")
		return kv != nil && kv.Lease != first.Lease
	})
	notYet(t, bLeads, 100*time.Millisecond)
	if !warnings.has("lease lost while campaigning") {
		t.Errorf("b's warnings do not say its lease was lost: %q", warnings.String())
	}
	if warnings.has("revoke lease failed") {
		t.Errorf("b warns of revoking a lease already gone: %q", warnings.String())
	}
	stopA()
	if r := <-bLeads; r.err != nil {
		t.Fatal(r.err)
	}
}

// limitedUser turns on authentication on srv and returns a client of a
// user that may read and write only the keys under prefix.
func limitedUser(t *testing.T, ctx context.Context, srv *etcdtest.Server, prefix string) *clientv3.Client {
	t.Helper()
	admin := srv.Client(t)
	const user, pw = "limited", "limited-password"
	for _, step := range []func() error{
		func() error { _, err := admin.UserAdd(ctx, "root", "root-password"); return err },
		func() error { _, err := admin.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := admin.RoleAdd(ctx, user); return err },
		func() error {
			_, err := admin.RoleGrantPermission(ctx, user, prefix, clientv3.GetPrefixRangeEnd(prefix), clientv3.PermissionType(clientv3.PermReadWrite))
			return err
		},
		func() error { _, err := admin.UserAdd(ctx, user, pw); return err },
		func() error { _, err := admin.UserGrantRole(ctx, user, user); return err },
		func() error { _, err := admin.AuthEnable(ctx); return err },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	c, err := clientv3.New(clientv3.Config{Endpoints: srv.Endpoints(), Username: user, Password: pw, DialTimeout: 5 * time.Second, Logger: quietZap()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestNewElectorRejectsBadOptions: NewElector refuses a nil client and
// each invalid option with ErrInvalid, naming the field and the rule.
func TestNewElectorRejectsBadOptions(t *testing.T) {
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{"127.0.0.1:1"}, DialTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = etcd.NewElector(nil, etcd.ElectorOptions{Prefix: "/e"})
	wantInvalid(t, "nil client", err, "etcd: NewElector: nil client")
	for _, tc := range []struct {
		opts etcd.ElectorOptions
		want string
	}{
		{etcd.ElectorOptions{}, `etcd: ElectorOptions.Prefix is "": must name a key prefix`},
		{etcd.ElectorOptions{Prefix: "//"}, `etcd: ElectorOptions.Prefix is "//": must name a key prefix`},
		{etcd.ElectorOptions{Prefix: "/e\x00"}, "etcd: ElectorOptions.Prefix is \"/e\\x00\": must not contain a NUL byte"},
		{etcd.ElectorOptions{Prefix: "/e", TTL: -time.Second}, "etcd: ElectorOptions.TTL is -1s: must not be negative"},
		{etcd.ElectorOptions{Prefix: "/e", TTL: 1500 * time.Millisecond}, "etcd: ElectorOptions.TTL is 1.5s: must be a whole number of seconds"},
	} {
		_, err := etcd.NewElector(c, tc.opts)
		wantInvalid(t, fmt.Sprintf("%+v", tc.opts), err, tc.want)
	}
	if _, err := etcd.NewElector(c, etcd.ElectorOptions{Prefix: "/e", TTL: 2 * time.Second}); err != nil {
		t.Errorf("a whole TTL: %v", err)
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

// TestElectorOneLeadAtATime: an Elector is one candidate. A second Lead
// while the first campaigns or leads fails at once with ErrElectorInUse,
// puts no key in etcd and leaves the first alone; once the first lead
// context has ended, Lead campaigns again.
func TestElectorOneLeadAtATime(t *testing.T) {
	srv := etcdtest.Start(t, etcdtest.Options{})
	c := srv.Client(t)
	a := newElector(t, c, "/election/one", "a", 10*time.Second)
	b := newElector(t, c, "/election/one", "b", 10*time.Second)
	ctx := testContext(t, 30*time.Second)
	keys := func() int64 {
		t.Helper()
		resp, err := c.Get(ctx, "/election/one/", clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			t.Fatal(err)
		}
		return resp.Count
	}
	inUse := func(what string) {
		t.Helper()
		select {
		case r := <-campaign(ctx, a): // ctx does not end: only "in use" returns
			if !errors.Is(r.err, reconcile.ErrElectorInUse) {
				t.Fatalf("second Lead while the first %s: %v, want ErrElectorInUse", what, r.err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("second Lead while the first %s did not return", what)
		}
	}

	// While the first Lead leads.
	ctx1, stop1 := context.WithCancel(ctx)
	lead1 := lead(t, ctx1, a)
	inUse("leads")
	if lead1.Err() != nil || !a.Leading() || keys() != 1 {
		t.Fatalf("after a refused Lead: first lead context %v, leading %v, %d keys; want undisturbed, one key", lead1.Err(), a.Leading(), keys())
	}
	// While the first Lead campaigns: b leads, a waits behind it.
	stop1()
	waitDone(t, lead1, time.Second, "first Lead")
	a.Wait()
	ctxB, stopB := context.WithCancel(ctx)
	leadB := lead(t, ctxB, b)
	ctx2, stop2 := context.WithCancel(ctx)
	defer stop2()
	aLeads := campaign(ctx2, a)
	eventually(t, wait, "a's candidate key", func() bool { return keys() == 2 })
	inUse("campaigns")
	if keys() != 2 {
		t.Errorf("%d keys after a refused Lead, want 2", keys())
	}
	notYet(t, aLeads, 100*time.Millisecond)
	// The first campaign goes on: a leads once b resigns.
	stopB()
	waitDone(t, leadB, time.Second, "b")
	if r := <-aLeads; r.err != nil {
		t.Fatalf("the first Lead after the refused one: %v", r.err)
	}
}
