package etcd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/shard"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Coordinator is the etcd implementation of [shard.Coordinator]: the
// members of a sharded controller coordinate through keys under
// Prefix/rings/<ring>/:
//
//	config         the number of slots, written once by the first member
//	members/<id>   one per member, bound to its session's lease
//	slots/<i>      the claim of slot i, bound to its owner's lease; its
//	               create revision is the claim's epoch
//
// Claims are create-if-absent transactions, releases compare the create
// revision, and a member's keys vanish with its lease. Writes fenced by a
// slot's claim go through [Source.ShardFenced].
//
// Create one with [NewCoordinator]; its methods are safe for concurrent
// use. It does not own the client.
type Coordinator struct {
	client *clientv3.Client
	opts   CoordinatorOptions
}

// CoordinatorOptions configure a [Coordinator].
type CoordinatorOptions struct {
	// Prefix is the root of the rings' keys. Defaults to "/controlloop".
	Prefix string
	// TTL is the sessions' lease time to live, rounded up to whole
	// seconds: how long a dead member's claims outlive it. It must not be
	// negative. Defaults to 10 seconds.
	TTL time.Duration
	// Logger receives the coordinator's logs. Defaults to slog.Default().
	Logger *slog.Logger
}

var _ shard.Coordinator = (*Coordinator)(nil)

// NewCoordinator returns a coordinator over client. It makes no request.
// A nil client and invalid options are refused with an error wrapping
// [controlloop.ErrInvalid].
func NewCoordinator(client *clientv3.Client, opts CoordinatorOptions) (*Coordinator, error) {
	switch {
	case client == nil:
		return nil, fmt.Errorf("etcd: NewCoordinator: nil client: %w", controlloop.ErrInvalid)
	case opts.TTL < 0:
		return nil, fmt.Errorf("etcd: CoordinatorOptions.TTL is %v: must not be negative: %w", opts.TTL, controlloop.ErrInvalid)
	case strings.HasSuffix(opts.Prefix, "/"):
		return nil, fmt.Errorf("etcd: CoordinatorOptions.Prefix is %q: must not end in '/': %w", opts.Prefix, controlloop.ErrInvalid)
	}
	if opts.Prefix == "" {
		opts.Prefix = "/controlloop"
	}
	if opts.TTL == 0 {
		opts.TTL = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Coordinator{client: client, opts: opts}, nil
}

// ringPrefix returns the prefix of ring's keys, with a trailing "/".
func (c *Coordinator) ringPrefix(ring string) string {
	return c.opts.Prefix + "/rings/" + ring + "/"
}

// slotKey returns the key of slot's claim in ring.
func (c *Coordinator) slotKey(ring string, slot int) string {
	return c.ringPrefix(ring) + "slots/" + strconv.Itoa(slot)
}

// Join implements [shard.Coordinator]: it checks (or writes) the ring's
// slot count, grants a lease that it keeps alive until the session ends,
// registers the member under it, and starts watching the ring.
func (c *Coordinator) Join(ctx context.Context, ring, id string, slots int) (shard.Session, error) {
	if ring == "" || strings.Contains(ring, "/") || id == "" || strings.Contains(id, "/") || slots <= 0 {
		return nil, fmt.Errorf("etcd: join ring %q as %q with %d slots: %w: ring and ID must be non-empty without '/', slots positive", ring, id, slots, controlloop.ErrInvalid)
	}
	p := c.ringPrefix(ring)
	cfg := p + "config"
	resp, err := c.client.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(cfg), "=", 0)).
		Then(clientv3.OpPut(cfg, strconv.Itoa(slots))).Else(clientv3.OpGet(cfg)).Commit()
	if err != nil {
		return nil, fmt.Errorf("etcd: join ring %q: %w", ring, mapErr(err))
	}
	if !resp.Succeeded {
		kvs := resp.Responses[0].GetResponseRange().Kvs
		if len(kvs) > 0 && string(kvs[0].Value) != strconv.Itoa(slots) {
			return nil, fmt.Errorf("etcd: join ring %q with %d slots: %w: the ring has %s", ring, slots, controlloop.ErrInvalid, kvs[0].Value)
		}
	}
	ttl := int64((c.opts.TTL + time.Second - 1) / time.Second)
	lease, err := c.client.Grant(ctx, ttl)
	if err != nil {
		return nil, fmt.Errorf("etcd: join ring %q: lease: %w", ring, mapErr(err))
	}
	s := &session{c: c, ring: ring, id: id, lease: lease.ID, done: make(chan struct{}), changed: make(chan struct{}, 1)}
	revoke := func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.TTL)
		defer cancel()
		_, _ = c.client.Revoke(rctx, lease.ID)
	}
	member := p + "members/" + id
	resp, err = c.client.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(member), "=", 0)).
		Then(clientv3.OpPut(member, id, clientv3.WithLease(lease.ID))).Commit()
	if err != nil {
		revoke()
		return nil, fmt.Errorf("etcd: join ring %q as %q: %w", ring, id, mapErr(err))
	}
	if !resp.Succeeded {
		revoke()
		return nil, fmt.Errorf("etcd: join ring %q as %q: %w", ring, id, shard.ErrMemberInUse)
	}
	var sctx context.Context
	sctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	alive, err := c.client.KeepAlive(sctx, lease.ID)
	if err != nil {
		s.cancel()
		revoke()
		return nil, fmt.Errorf("etcd: join ring %q: keepalive: %w", ring, mapErr(err))
	}
	s.wg.Go(func() { s.keepAlive(alive) })
	s.wg.Go(func() { s.watch(sctx, slots) })
	return s, nil
}

// session is a [shard.Session] on etcd.
type session struct {
	c        *Coordinator
	ring, id string
	lease    clientv3.LeaseID
	done     chan struct{}
	changed  chan struct{}
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	once     sync.Once

	mu   sync.Mutex // protects view
	view shard.View
}

// keepAlive drains the lease's keepalive responses; when they stop (the
// lease expired or was revoked, or the session is closing), the session
// is over.
func (s *session) keepAlive(alive <-chan *clientv3.LeaseKeepAliveResponse) {
	for range alive {
	}
	s.end()
}

func (s *session) end() {
	s.once.Do(func() {
		close(s.done)
		s.cancel()
	})
}

// watch keeps s.view up to date: a read of the ring's keys, then a watch
// from the revision after it; it reads again if the watch fails.
func (s *session) watch(ctx context.Context, slots int) {
	p := s.c.ringPrefix(s.ring)
	for ctx.Err() == nil {
		resp, err := s.c.client.Get(ctx, p, clientv3.WithPrefix())
		if err != nil {
			if !sleepCtx(ctx, 100*time.Millisecond) {
				return
			}
			continue
		}
		v := shard.View{Revision: resp.Header.Revision, Claims: make([]shard.Claim, slots)}
		members := map[string]bool{}
		for _, kv := range resp.Kvs {
			s.apply(&v, members, p, kv, false)
		}
		s.publish(v, members)
		wch := s.c.client.Watch(clientv3.WithRequireLeader(ctx), p, clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1))
		for wresp := range wch {
			if wresp.Err() != nil {
				break
			}
			for _, ev := range wresp.Events {
				s.apply(&v, members, p, ev.Kv, ev.Type == mvccpb.DELETE)
			}
			v.Revision = max(v.Revision, wresp.Header.Revision)
			s.publish(v, members)
		}
	}
}

// apply records kv (deleted, or put) in v and members.
func (s *session) apply(v *shard.View, members map[string]bool, prefix string, kv *mvccpb.KeyValue, deleted bool) {
	rest := strings.TrimPrefix(string(kv.Key), prefix)
	if id, ok := strings.CutPrefix(rest, "members/"); ok {
		if deleted {
			delete(members, id)
		} else {
			members[id] = true
		}
		return
	}
	if n, ok := strings.CutPrefix(rest, "slots/"); ok {
		slot, err := strconv.Atoi(n)
		if err != nil || slot < 0 || slot >= len(v.Claims) {
			return
		}
		if deleted {
			v.Claims[slot] = shard.Claim{}
		} else {
			v.Claims[slot] = shard.Claim{Owner: string(kv.Value), Epoch: kv.CreateRevision}
		}
	}
}

// publish makes v, with members, the session's view and says so.
func (s *session) publish(v shard.View, members map[string]bool) {
	ids := make([]string, 0, len(members))
	for id := range members {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	snap := shard.View{Revision: v.Revision, Members: ids, Claims: slices.Clone(v.Claims)}
	s.mu.Lock()
	s.view = snap
	s.mu.Unlock()
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

func (s *session) Done() <-chan struct{}    { return s.done }
func (s *session) Changed() <-chan struct{} { return s.changed }

func (s *session) View() shard.View {
	s.mu.Lock()
	defer s.mu.Unlock()
	return shard.View{Revision: s.view.Revision, Members: slices.Clone(s.view.Members), Claims: slices.Clone(s.view.Claims)}
}

// Claim creates the slot's key, bound to the session's lease, if it is
// absent; the write's revision is the claim's epoch.
func (s *session) Claim(ctx context.Context, slot int) (int64, error) {
	k := s.c.slotKey(s.ring, slot)
	resp, err := s.c.client.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(k), "=", 0)).
		Then(clientv3.OpPut(k, s.id, clientv3.WithLease(s.lease))).Else(clientv3.OpGet(k)).Commit()
	if err != nil {
		return 0, fmt.Errorf("etcd: claim slot %d of ring %q: %w", slot, s.ring, mapErr(err))
	}
	if !resp.Succeeded {
		owner := "?"
		if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
			owner = string(kvs[0].Value)
		}
		return 0, fmt.Errorf("etcd: claim slot %d of ring %q: %w by %s", slot, s.ring, shard.ErrClaimed, owner)
	}
	return resp.Header.Revision, nil
}

// Release deletes the slot's key if its create revision is epoch.
func (s *session) Release(ctx context.Context, slot int, epoch int64) error {
	k := s.c.slotKey(s.ring, slot)
	_, err := s.c.client.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(k), "=", epoch)).Then(clientv3.OpDelete(k)).Commit()
	if err != nil {
		return fmt.Errorf("etcd: release slot %d of ring %q: %w", slot, s.ring, mapErr(err))
	}
	return nil
}

// Close revokes the session's lease, which deletes its member and claims,
// and waits for the session's goroutines.
func (s *session) Close(ctx context.Context) error {
	_, err := s.c.client.Revoke(ctx, s.lease)
	s.end()
	s.wg.Wait()
	if err != nil && !errors.Is(mapErr(err), controlloop.ErrNotFound) {
		return fmt.Errorf("etcd: leave ring %q: %w", s.ring, mapErr(err))
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// ShardFenced returns a view of s whose writes commit only while the slot
// claim they are made under is current: each Create, Update, UpdateStatus
// and Delete is one transaction that also compares the create revision of
// the claim's key in c with the epoch of the [shard.Token] the write's
// context carries (every reconcile a [shard.Member] begins carries one). A
// refused write fails with an error wrapping [shard.ErrFenced], and the
// member counts the slot as lost; so does a write whose context carries no
// token, without reaching etcd. Reads and watches are not fenced.
func (s *Source[T]) ShardFenced(c *Coordinator) *Source[T] {
	if s == nil {
		return nil
	}
	f := *s
	f.fenced, f.fence = true, slotFence{c}
	return &f
}

// slotFence fences writes by the claim of the slot in the write's token.
type slotFence struct{ c *Coordinator }

func (f slotFence) condition(ctx context.Context) (clientv3.Cmp, func() error, error) {
	t, ok := shard.TokenFrom(ctx)
	switch {
	case f.c == nil:
		return clientv3.Cmp{}, nil, fmt.Errorf("shard fence: nil Coordinator: %w", controlloop.ErrInvalid)
	case !ok:
		return clientv3.Cmp{}, nil, fmt.Errorf("%w (the write's context carries no slot claim)", shard.ErrFenced)
	}
	return clientv3.Compare(clientv3.CreateRevision(f.c.slotKey(t.Ring, t.Slot)), "=", t.Epoch), t.Refused, nil
}

// Fresh returns a wait for shard.Options.Fresh: it returns once the
// cache behind lastRevision (an informer's LastSyncResourceVersion, over
// src, on the same etcd cluster as the coordinator) is known to hold every
// object of src as of the revision: its own revision has reached it, or no
// object of src has been written between the two (one keys-only read).
// It asks src for progress notifications meanwhile, so that a watch with
// nothing to deliver moves on where etcd orders them (3.5 and later). A
// delete the cache has not seen yet does not hold it back: at worst a
// reconcile of a deleted object runs, and its writes fail.
func Fresh[T controlloop.Object](src *Source[T], lastRevision func() string) func(ctx context.Context, revision int64) error {
	return func(ctx context.Context, revision int64) error {
		start, end := src.rangeFor("")
		for {
			last, err := strconv.ParseInt(lastRevision(), 10, 64)
			if err == nil && last >= revision {
				return nil
			}
			if err == nil {
				resp, err := src.client.Get(ctx, start, clientv3.WithRange(end), clientv3.WithRev(revision),
					clientv3.WithMinModRev(last+1), clientv3.WithKeysOnly())
				// Not WithCountOnly: etcd 3.4 counts before it filters.
				if err == nil && len(resp.Kvs) == 0 {
					return nil
				}
			}
			_ = src.RequestProgress(ctx)
			if !sleepCtx(ctx, 20*time.Millisecond) {
				return ctx.Err()
			}
		}
	}
}
