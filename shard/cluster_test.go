package shard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/reconcile"
	"github.com/controlloop/controlloop/reflector"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// This file runs many replicas of one sharded controller in one process,
// over one memstore and one Memory coordinator, and checks the protocol's
// invariants as the reconciles run. Tests use it inside synctest bubbles.

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// item is the tests' object: Spec is what is wanted; Seen is the Spec a
// reconcile last wrote back, and By the replica that wrote it.
type item struct {
	controlloop.ObjectMeta
	Spec int
	Seen int
	By   string
}

const (
	testRing    = "items"
	testSlots   = 64
	testTTL     = 10 * time.Second
	testWindow  = 3 * time.Second
	testLatency = time.Second // each reconcile's I/O
)

// cluster is the replicas, the store and the invariant checks.
type cluster struct {
	t      testing.TB
	mem    *Memory
	store  *memstore.Store[*item]
	fenced controlloop.Client[*item]
	// plant, if set, changes a replica's options: tests plant bugs with it.
	plant func(*Options)

	mu       sync.Mutex // protects the fields below
	replicas map[string]*replica
	// running are the reconciles in flight, per key.
	running map[controlloop.Key][]*run
	// started is the highest epoch a reconcile of each slot started under.
	started map[int]int64
	// reconciles counts reconciles that started, per replica.
	reconciles map[string]int
	fencedN    int
	// retiredHandoffs sums the handoffs of replicas no longer running.
	retiredHandoffs float64
	violations      []string
}

// run is one reconcile in flight.
type run struct {
	replica string
	token   Token
	// leftover: its replica was frozen or killed while it ran, so its
	// lease may have ended under it; only the fence stops its write.
	leftover bool
}

// replica is one member with its informer and controller.
type replica struct {
	id     string
	member *Member
	cancel context.CancelFunc
	done   chan struct{}
	// gone: killed or removed; frozen: keepalives stopped and reconciles
	// held at gate until thawed.
	gone, frozen bool
	gate         chan struct{}
}

func newCluster(t testing.TB, objects int) *cluster {
	t.Helper()
	mem, err := NewMemory(MemoryOptions{TTL: testTTL})
	if err != nil {
		t.Fatal(err)
	}
	store, err := memstore.New[*item](memstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range objects {
		if _, err := store.Create(context.Background(), &item{ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: fmt.Sprintf("item-%03d", i)}, Spec: 1}); err != nil {
			t.Fatal(err)
		}
	}
	return &cluster{
		t: t, mem: mem, store: store, fenced: FencedStore(store, mem),
		replicas: map[string]*replica{}, running: map[controlloop.Key][]*run{},
		started: map[int]int64{}, reconciles: map[string]int{},
	}
}

// start starts a replica with id, which must not be running.
func (c *cluster) start(id string) {
	c.t.Helper()
	inf, err := informer.New[*item](c.store, informer.Options[*item]{Logger: quiet, Reflector: reflector.Options{Logger: quiet}})
	if err != nil {
		c.t.Fatal(err)
	}
	opts := Options{Ring: testRing, ID: id, Slots: testSlots, Window: testWindow, Logger: quiet, Keys: KeysOf(inf.Reader().All()), Registerer: prometheus.NewRegistry()}
	if c.plant != nil {
		c.plant(&opts)
	}
	m, err := New(c.mem, opts)
	if err != nil {
		c.t.Fatal(err)
	}
	r := &replica{id: id, member: m, done: make(chan struct{}), gate: make(chan struct{})}
	close(r.gate)
	ctrl, err := reconcile.New(reconcile.Func[reconcile.Request](func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
		return c.reconcile(ctx, r, inf.Reader(), req)
	}), reconcile.Options[reconcile.Request]{Name: "items-" + id, Workers: 3, Admitter: m, Logger: quiet, ShutdownGracePeriod: 5 * time.Second, SyncPeriod: reconcile.NoSync})
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := reconcile.Watch(ctrl, inf, reconcile.ForObject[*item]()); err != nil {
		c.t.Fatal(err)
	}
	m.Attach(ctrl.Queue())
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	c.mu.Lock()
	c.replicas[id] = r
	c.mu.Unlock()
	var wg sync.WaitGroup
	for _, run := range []func(context.Context) error{inf.Run, ctrl.Run, m.Run} {
		wg.Go(func() {
			if err := run(ctx); err != nil {
				c.fail("replica %s: Run: %v", id, err)
			}
		})
	}
	go func() { wg.Wait(); close(r.done) }()
}

// stop stops replica id cleanly (its member leaves the ring) and waits for
// it.
func (c *cluster) stop(id string) {
	c.thaw(id)
	c.mu.Lock()
	r := c.replicas[id]
	r.gone = true
	delete(c.replicas, id)
	c.retiredHandoffs += testutil.ToFloat64(r.member.metrics.handoffs)
	c.mu.Unlock()
	r.cancel()
	<-r.done
}

// kill ends replica id's lease at once, as a crash would, and stops its
// process; reconciles it had in flight may still try to write.
func (c *cluster) kill(id string) {
	c.mu.Lock()
	r := c.replicas[id]
	r.gone = true
	delete(c.replicas, id)
	c.retiredHandoffs += testutil.ToFloat64(r.member.metrics.handoffs)
	c.mem.Kill(testRing, id)
	c.lockedMarkLeftovers(id)
	if r.frozen {
		// What it held in flight goes on now, with its lease gone.
		r.frozen = false
		close(r.gate)
	}
	c.mu.Unlock()
	r.cancel()
	<-r.done
}

// freeze stops replica id's keepalives and holds its reconciles; thaw
// lets them go on.
func (c *cluster) freeze(id string) {
	c.mu.Lock()
	r := c.replicas[id]
	if r != nil && !r.frozen {
		r.frozen, r.gate = true, make(chan struct{})
		c.mem.Freeze(testRing, id)
		c.lockedMarkLeftovers(id)
	}
	c.mu.Unlock()
}

// lockedMarkLeftovers marks the reconciles replica id has in flight as
// leftovers.
func (c *cluster) lockedMarkLeftovers(id string) {
	for _, runs := range c.running {
		for _, o := range runs {
			if o.replica == id {
				o.leftover = true
			}
		}
	}
}

func (c *cluster) thaw(id string) {
	c.mu.Lock()
	r := c.replicas[id]
	if r != nil && r.frozen {
		r.frozen = false
		c.mem.Thaw(testRing, id)
		close(r.gate)
	}
	c.mu.Unlock()
}

func (c *cluster) stopAll() {
	c.mu.Lock()
	ids := make([]string, 0, len(c.replicas))
	for id := range c.replicas {
		ids = append(ids, id)
	}
	c.mu.Unlock()
	for _, id := range ids {
		c.stop(id)
	}
}

func (c *cluster) fail(format string, args ...any) {
	c.mu.Lock()
	c.violations = append(c.violations, fmt.Sprintf(format, args...))
	c.mu.Unlock()
}

func (c *cluster) check() {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, v := range c.violations[:min(len(c.violations), 10)] {
		c.t.Error(v)
	}
	if len(c.violations) > 0 {
		c.t.FailNow()
	}
}

// reconcile is every replica's reconciler: it checks the invariants at
// its start and at its write, takes testLatency, and writes Spec back as
// Seen through the fenced client.
func (c *cluster) reconcile(ctx context.Context, r *replica, reader informer.Reader[*item], req reconcile.Request) (reconcile.Result, error) {
	tok, ok := TokenFrom(ctx)
	if !ok {
		c.fail("%s reconciles %v without a token", r.id, req)
		return reconcile.Result{}, nil
	}
	c.begin(r, req, tok)
	defer c.end(req, tok)

	c.mu.Lock()
	gate := r.gate
	c.mu.Unlock()
	<-gate // a frozen replica's reconcile waits here, ignoring its context
	time.Sleep(testLatency)

	obj, err := c.store.Get(context.Background(), req)
	if errors.Is(err, controlloop.ErrNotFound) {
		return reconcile.Result{}, nil
	}
	if err != nil || obj.Seen == obj.Spec {
		return reconcile.Result{}, err
	}
	obj.Seen, obj.By = obj.Spec, r.id
	// The write uses a context that outlives the reconcile's, as a
	// leftover reconcile's would: only the fence stops it.
	_, err = c.fenced.UpdateStatus(WithToken(context.WithoutCancel(ctx), tok), obj)
	switch {
	case errors.Is(err, ErrFenced):
		c.mu.Lock()
		c.fencedN++
		c.mu.Unlock()
		return reconcile.Result{}, nil
	case err != nil:
		return reconcile.Result{}, err
	}
	c.mu.Lock()
	if newer := c.started[tok.Slot]; newer > tok.Epoch {
		c.violations = append(c.violations, fmt.Sprintf("%s wrote %v under epoch %d after a reconcile under epoch %d started", r.id, req, tok.Epoch, newer))
	}
	c.mu.Unlock()
	return reconcile.Result{}, nil
}

// begin checks a reconcile's start: its epoch is the slot's current one
// (unless its replica is frozen or gone, whose lease may have ended at this
// very instant), it is not older than one already started for the slot,
// and no other replica has the key in flight unless that one's claim has
// ended (a frozen or killed replica's leftover, whose writes the fence
// refuses).
func (c *cluster) begin(r *replica, req reconcile.Request, tok Token) {
	view := c.mem.View(testRing)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reconciles[r.id]++
	bad := func(format string, args ...any) { c.violations = append(c.violations, fmt.Sprintf(format, args...)) }
	if cur := view.Claims[tok.Slot]; cur != (Claim{Owner: r.id, Epoch: tok.Epoch}) && !r.frozen && !r.gone {
		bad("%s starts %v under epoch %d of slot %d; the current claim is %+v", r.id, req, tok.Epoch, tok.Slot, cur)
	}
	if prev := c.started[tok.Slot]; tok.Epoch < prev {
		bad("%s starts %v of slot %d under epoch %d after epoch %d started", r.id, req, tok.Slot, tok.Epoch, prev)
	}
	c.started[tok.Slot] = max(c.started[tok.Slot], tok.Epoch)
	for _, o := range c.running[req] {
		if !o.leftover || o.token.Epoch >= tok.Epoch {
			bad("%s enters %v (epoch %d) while %s has it in flight under epoch %d", r.id, req, tok.Epoch, o.replica, o.token.Epoch)
		}
	}
	c.running[req] = append(c.running[req], &run{replica: r.id, token: tok, leftover: r.frozen || r.gone})
}

func (c *cluster) end(req reconcile.Request, tok Token) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.running[req] = slices.DeleteFunc(c.running[req], func(o *run) bool { return o.token.Epoch == tok.Epoch && o.token.Member == tok.Member })
}

// touch changes the Spec of every object, so that each must be reconciled
// again.
func (c *cluster) touch() {
	c.t.Helper()
	for key := range c.store.All() {
		c.bump(key)
	}
}

// bump increases the Spec of the object with key, retrying conflicts with
// the reconciles' writes.
func (c *cluster) bump(key controlloop.Key) {
	c.t.Helper()
	for {
		obj, err := c.store.Get(context.Background(), key)
		if err != nil {
			c.t.Fatal(err)
		}
		obj.Spec++
		_, err = c.store.Update(context.Background(), obj)
		if err == nil {
			return
		}
		if !errors.Is(err, controlloop.ErrConflict) {
			c.t.Fatal(err)
		}
	}
}

// touchSome changes the Spec of n objects drawn at random.
func (c *cluster) touchSome(rng *rand.Rand, n int) {
	c.t.Helper()
	var keys []controlloop.Key
	for key := range c.store.All() {
		keys = append(keys, key)
	}
	for range n {
		c.bump(keys[rng.IntN(len(keys))])
	}
}

// claimProblems reports the slots not claimed by the live member HRW
// picks, nor worked by it.
func (c *cluster) claimProblems() []string {
	var why []string
	view := c.mem.View(testRing)
	c.mu.Lock()
	defer c.mu.Unlock()
	for slot, cl := range view.Claims {
		want := Owner(slot, view.Members)
		if cl.Owner != want {
			why = append(why, fmt.Sprintf("slot %d claimed by %q, HRW picks %q", slot, cl.Owner, want))
		} else if r := c.replicas[want]; r != nil && !slices.Contains(r.member.Owned(), slot) {
			why = append(why, fmt.Sprintf("slot %d claimed by %q, which does not work it yet", slot, want))
		}
	}
	return why
}

// converged reports what keeps the ring from its steady state: every slot
// claimed by the live member HRW picks, and every object reconciled.
func (c *cluster) converged() []string {
	why := c.claimProblems()
	for key, obj := range c.store.All() {
		if obj.Seen != obj.Spec {
			why = append(why, fmt.Sprintf("%v: Spec %d, Seen %d", key, obj.Spec, obj.Seen))
		}
	}
	return why
}
