package etcd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/reconcile"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Elector is a leader elector with the protocol of etcd's
// concurrency.Election: candidates queue in the order they campaigned
// (FIFO), each with a key bound to a lease of Options.TTL that it keeps
// alive; the one whose key is oldest leads. It implements the reconcile
// package's LeaderElector interface.
//
// One Elector is one candidate, for one Lead at a time: a Lead while
// another Lead of the same Elector campaigns or leads fails at once with an
// error wrapping [reconcile.ErrElectorInUse], and leaves the other alone.
// For the controllers of one process to lead together, set the Elector as
// the reconcile.Manager's LeaderElector: the manager campaigns once for all
// of them. Once a lead context has ended, Lead may be called again: it
// campaigns anew.
//
// A term ends when its key disappears (its lease expired or was revoked, or
// the key was deleted) or its lease can no longer be renewed; the lead
// context is then cancelled. A leader cut off from etcd cannot hear of it:
// it gives up by itself once its lease has gone unrenewed for 2/3 of the
// TTL, before etcd expires the lease. A paused process can still act after
// another candidate leads, so writes that must not happen then go through
// [Source.Fenced], which etcd itself refuses once the term is over.
//
// An Elector must be created with [NewElector]; the methods of a zero
// Elector fail with an error wrapping [controlloop.ErrInvalid]. Its methods
// are safe for concurrent use.
type Elector struct {
	client *clientv3.Client
	opts   ElectorOptions
	log    *slog.Logger
	wg     sync.WaitGroup // counts the goroutines that drive campaigns

	mu  sync.Mutex // protects the fields below
	cur *candidacy // the campaign or term of the Lead under way, if any
	// term is cur's term while it leads: the fallback of fenced writes.
	term *term
}

// candidacy is one campaign of one Lead call and the term it may win.
type candidacy struct {
	stop context.CancelFunc // ends the campaign or term: the caller left
	won  chan struct{}      // closed when leading; t is set before
	over chan struct{}      // closed when the campaign failed or the term ended
	// overCtx is cancelled when over closes, for context.AfterFunc.
	overCtx context.Context
	setOver context.CancelFunc
	t       *term
	err     error // why the campaign failed for good, set before over closes
}

// term is one won election: the leader's key and its create revision,
// which fenced writes compare.
type term struct {
	key string
	rev int64
}

// termKey is the context key under which a lead context carries its term.
type termKey struct{ e *Elector }

// NewElector returns an elector that campaigns through client in the
// election opts.Prefix. It makes no request and starts nothing. It fails
// with an error wrapping [controlloop.ErrInvalid] if client is nil or opts
// is invalid.
func NewElector(client *clientv3.Client, opts ElectorOptions) (*Elector, error) {
	if client == nil {
		return nil, fmt.Errorf("etcd: NewElector: nil client: %w", controlloop.ErrInvalid)
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	return &Elector{client: client, opts: opts, log: opts.Logger.With("election", opts.Prefix, "identity", opts.Identity)}, nil
}

// Lead blocks until this candidate leads, then returns a context that is
// cancelled when the term ends: leadership was lost, or ctx ended. Once the
// lead context has ended, the elector resigns (revokes its lease, which
// deletes its key), so that the next candidate leads at once. The lead
// context carries the term, so that fenced writes made under it (or under a
// context derived from it, even through [context.WithoutCancel]) are
// refused by etcd once that term is over.
//
// Lead is one candidate's: while a Lead of e campaigns or leads (until its
// lead context has ended), another fails at once with an error wrapping
// [reconcile.ErrElectorInUse] and leaves the first alone.
//
// Failures to reach etcd while campaigning are logged and retried with
// backoff. Lead returns an error only when ctx ends first (ctx.Err(), at
// once, whether or not etcd answers), e is in use or was not made by
// [NewElector], or etcd refuses the campaign for good (permission denied).
func (e *Elector) Lead(ctx context.Context) (context.Context, error) {
	if e == nil || e.client == nil {
		return nil, errZeroElector
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c, err := e.start()
		if err != nil {
			return nil, err
		}
		select {
		case <-c.won:
		case <-c.over:
		case <-ctx.Done():
			e.leave(c)
			return nil, ctx.Err()
		}
		select {
		case <-c.over: // failed, or a term that ended before this call saw it
			e.leave(c)
			if c.err != nil {
				return nil, c.err
			}
			continue
		default:
		}
		leadCtx, cancel := context.WithCancel(context.WithValue(ctx, termKey{e}, c.t))
		stop := context.AfterFunc(c.overCtx, cancel)
		context.AfterFunc(leadCtx, func() {
			stop()
			e.leave(c)
		})
		return leadCtx, nil
	}
}

// start starts a candidacy for a Lead call, or fails with ErrElectorInUse
// if another Lead's is under way.
func (e *Elector) start() (*candidacy, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cur != nil {
		return nil, fmt.Errorf("etcd: Lead in election %s: %w", e.opts.Prefix, reconcile.ErrElectorInUse)
	}
	ctx, stop := context.WithCancel(context.Background())
	c := &candidacy{stop: stop, won: make(chan struct{}), over: make(chan struct{})}
	c.overCtx, c.setOver = context.WithCancel(context.Background())
	e.cur = c
	e.wg.Go(func() { e.drive(ctx, c) })
	return c, nil
}

// leave ends c: its Lead call returned an error or its lead context ended.
func (e *Elector) leave(c *candidacy) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c.stop()
	if e.cur == c {
		e.cur = nil
	}
}

// drive campaigns for c until it wins or ctx ends (the caller left),
// retrying failures with backoff, then holds the term until it is lost or
// ctx ends. The caller learns that the term is over before the elector
// cleans up, which may wait for an unreachable etcd.
func (e *Elector) drive(ctx context.Context, c *candidacy) {
	t, session, err := e.campaignWithRetries(ctx)
	if err != nil || t == nil {
		e.end(c, err)
		return
	}
	e.mu.Lock()
	c.t = t
	e.term = t
	close(c.won)
	e.mu.Unlock()
	e.log.Info("etcd: leading", "key", t.key, "revision", t.rev)

	reason := e.waitLoss(ctx, t, session)
	e.end(c, nil)
	if ctx.Err() != nil {
		e.log.Info("etcd: resigning", "key", t.key)
	} else {
		e.log.Warn("etcd: lost leadership", "key", t.key, "reason", reason)
	}
	e.closeSession(session)
}

// end marks c over, with err if its campaign failed for good: every lead
// context of its term is cancelled, and fenced writes no longer fall back
// on its term.
func (e *Elector) end(c *candidacy, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cur == c {
		e.cur = nil
	}
	if c.t != nil && e.term == c.t {
		e.term = nil
	}
	c.err = err
	close(c.over)
	c.setOver()
}

// campaignWithRetries campaigns until it wins (a term and its session), ctx
// ends (nil, nil, nil) or the campaign fails for good.
func (e *Elector) campaignWithRetries(ctx context.Context) (*term, *concurrency.Session, error) {
	delay := 100 * time.Millisecond
	for {
		t, session, err := e.campaign(ctx)
		switch {
		case err == nil:
			return t, session, nil
		case ctx.Err() != nil:
			return nil, nil, nil // the caller left: nothing to report
		case permanent(err):
			return nil, nil, fmt.Errorf("etcd: campaign in %s: %w", e.opts.Prefix, err)
		}
		e.log.Warn("etcd: campaign failed, retrying", "err", err, "delay", delay)
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, nil, nil
		case <-timer.C:
		}
		delay = min(2*delay, e.opts.TTL)
	}
}

// errTermLost means a campaign's key vanished before it won.
var errTermLost = errors.New("lease lost while campaigning")

// campaign runs one campaign with a new session until it wins, fails or
// ctx ends; on failure it revokes the session's lease.
//
// The protocol is concurrency.Election's, so that other clients of it (such
// as etcdctl elect) take part in the same election: each candidate puts
// <Prefix>/<lease ID in hex> bound to its lease, and leads once every key
// created before its own is gone. It is written out here so that every step
// respects ctx: Election.Campaign resigns on the client's context, which
// blocks while etcd is unreachable.
func (e *Elector) campaign(ctx context.Context) (*term, *concurrency.Session, error) {
	ttl := int64(e.opts.TTL / time.Second)
	grant, err := e.client.Grant(ctx, ttl)
	if err != nil {
		return nil, nil, fmt.Errorf("grant lease: %w", mapErr(err))
	}
	// The session's keepalive must not stop with ctx: a term ends by
	// revoking the lease (closeSession), not by letting it lapse.
	session, err := concurrency.NewSession(e.client,
		concurrency.WithLease(grant.ID), concurrency.WithTTL(int(ttl)),
		concurrency.WithContext(context.WithoutCancel(ctx)))
	if err != nil {
		e.revoke(grant.ID)
		return nil, nil, fmt.Errorf("new session: %w", err)
	}
	// A lease lost while waiting ends the campaign, to start a new one.
	cctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(session.Ctx(), cancel)
	t, err := e.run(cctx, session)
	stop()
	cancel()
	if err == nil && ctx.Err() != nil {
		err = ctx.Err() // won as the caller left: hand leadership on
	}
	if err != nil {
		// Whether the lease was lost is read before closing the session,
		// which ends its context too.
		lost := session.Ctx().Err() != nil && ctx.Err() == nil
		e.closeSession(session)
		if lost {
			err = fmt.Errorf("%w: %w", errTermLost, err)
		}
		return nil, nil, err
	}
	return t, session, nil
}

// run puts the candidate's key and waits until every older key is gone.
func (e *Elector) run(ctx context.Context, session *concurrency.Session) (*term, error) {
	key := fmt.Sprintf("%s/%x", e.opts.Prefix, session.Lease())
	resp, err := e.client.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, e.opts.Identity, clientv3.WithLease(session.Lease()))).
		Else(clientv3.OpGet(key)).
		Commit()
	if err != nil {
		return nil, fmt.Errorf("put candidate key: %w", mapErr(err))
	}
	t := &term{key: key, rev: resp.Header.Revision}
	if !resp.Succeeded { // unreachable: the lease is new
		t.rev = resp.Responses[0].GetResponseRange().Kvs[0].CreateRevision
	}
	if err := e.waitOlder(ctx, t.rev-1); err != nil {
		return nil, err
	}
	// The key may have gone with a lost lease while older ones went.
	get, err := e.client.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("check candidate key: %w", mapErr(err))
	}
	if len(get.Kvs) == 0 || get.Kvs[0].CreateRevision != t.rev {
		return nil, errTermLost
	}
	return t, nil
}

// waitOlder waits until no key of the election was created at or before
// revision maxRev: the candidates ahead in the queue have all left.
func (e *Elector) waitOlder(ctx context.Context, maxRev int64) error {
	opts := append(clientv3.WithLastCreate(), clientv3.WithMaxCreateRev(maxRev))
	for {
		resp, err := e.client.Get(ctx, e.opts.Prefix+"/", opts...)
		if err != nil {
			return fmt.Errorf("read older candidates: %w", mapErr(err))
		}
		if len(resp.Kvs) == 0 {
			return nil
		}
		if err := e.waitDelete(ctx, string(resp.Kvs[0].Key), resp.Header.Revision); err != nil {
			return err
		}
	}
}

// waitDelete waits until key is deleted after revision rev.
func (e *Elector) waitDelete(ctx context.Context, key string, rev int64) error {
	wctx, cancel := context.WithCancel(watchContext(ctx))
	defer cancel()
	var resp clientv3.WatchResponse
	for resp = range e.client.Watch(wctx, key, clientv3.WithRev(rev+1), clientv3.WithFilterPut()) {
		for _, ev := range resp.Events {
			if ev.Type == mvccpb.DELETE {
				return nil
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := resp.Err(); err != nil {
		return fmt.Errorf("watch older candidate: %w", mapErr(err))
	}
	return errors.New("watch of older candidate ended")
}

// waitLoss blocks until the term ends and says why: ctx done (the caller
// left), the key deleted (the lease expired or was revoked), or the
// lease not renewed for renewDeadline. The last gives up leadership before
// etcd expires the lease, so that a leader cut off from etcd normally stops
// before another can start; the fence covers the rest.
func (e *Elector) waitLoss(ctx context.Context, t *term, session *concurrency.Session) string {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	// A second listener of the session's keepalives, to see each renewal.
	renewed, err := e.client.KeepAlive(ctx, session.Lease())
	if err != nil {
		renewed = nil // the session's end and the key's watch still tell
	}
	lost := make(chan string, 1)
	wg.Go(func() { e.watchKey(ctx, t, lost) })
	deadline := e.renewDeadline()
	last := time.Now()
	tick := time.NewTicker(deadline / 8)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return "context done"
		case <-session.Done():
			return "lease could not be renewed"
		case reason := <-lost:
			return reason
		case resp, ok := <-renewed:
			switch {
			case !ok:
				renewed = nil // the lease is gone or the client closed: session.Done follows
			case resp != nil:
				last = time.Now()
			}
		case <-tick.C:
			if since := time.Since(last); since > deadline {
				return fmt.Sprintf("lease not renewed for %v: gave up before etcd expires it", since.Round(time.Millisecond))
			}
		}
	}
}

// renewDeadline is how long a leader goes on without a renewal of its
// lease: two thirds of the TTL, as Kubernetes' leader election does.
func (e *Elector) renewDeadline() time.Duration { return e.opts.TTL * 2 / 3 }

// watchKey sends on lost once the term's key is deleted, and returns then
// or when ctx ends. A failed watch is resumed; after a failure it checks the
// key with a bounded read.
func (e *Elector) watchKey(ctx context.Context, t *term, lost chan<- string) {
	const gone = "key deleted (lease expired or revoked)"
	from := t.rev + 1
	for ctx.Err() == nil {
		wctx, cancel := context.WithCancel(watchContext(ctx))
		for resp := range e.client.Watch(wctx, t.key, clientv3.WithRev(from), clientv3.WithFilterPut()) {
			if resp.Err() != nil {
				break
			}
			for _, ev := range resp.Events {
				if ev.Type == mvccpb.DELETE {
					cancel()
					lost <- gone
					return
				}
			}
			from = resp.Header.Revision + 1
		}
		cancel()
		// The watch failed (etcd unreachable, no leader, compacted): look
		// again from a read of the key.
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		resp, err := e.client.Get(rctx, t.key)
		cancel()
		if err == nil {
			if len(resp.Kvs) == 0 || resp.Kvs[0].CreateRevision != t.rev {
				lost <- gone
				return
			}
			from = resp.Header.Revision + 1
		}
	}
}

// closeSession stops renewing the session's lease and revokes it, which
// deletes the candidate's key, within a bounded time.
// Revoking the lease is also how a leader resigns: its key goes with it.
func (e *Elector) closeSession(session *concurrency.Session) {
	session.Orphan()
	e.revoke(session.Lease())
}

// revoke revokes a lease within a bounded time; if etcd cannot be reached,
// the lease expires by itself, and until then the candidate's key stays:
// that is logged at Warn, since the next candidate waits for it.
func (e *Elector) revoke(id clientv3.LeaseID) {
	ctx, cancel := context.WithTimeout(context.Background(), e.cleanupTimeout())
	defer cancel()
	if _, err := e.client.Revoke(ctx, id); err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
		e.log.Warn("etcd: revoke lease failed; it expires after the TTL", "lease", fmt.Sprintf("%x", id), "ttl", e.opts.TTL, "err", err)
	}
}

func (e *Elector) cleanupTimeout() time.Duration { return min(e.opts.TTL, 3*time.Second) }

// Wait blocks until the elector's campaigns and terms have ended and been
// given up: call it after the contexts passed to Lead have ended to know
// that the elector resigned and its goroutines have exited. By then each
// of its leases has been revoked, which deleted its key, unless etcd did
// not answer within min(TTL, 3s): the elector then logs a warning and the
// key lasts until the lease expires. On a zero Elector it returns at once.
func (e *Elector) Wait() {
	if e != nil {
		e.wg.Wait()
	}
}

// Leading reports whether the elector holds a term, as far as it knows. A
// zero Elector does not lead.
func (e *Elector) Leading() bool {
	if e == nil {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.term != nil
}

// Leader returns the identity of the current leader of the election, or
// "" if no candidate leads.
func (e *Elector) Leader(ctx context.Context) (string, error) {
	if e == nil || e.client == nil {
		return "", errZeroElector
	}
	resp, err := e.client.Get(ctx, e.opts.Prefix+"/", clientv3.WithFirstCreate()...)
	if err != nil {
		return "", fmt.Errorf("etcd: leader of %s: %w", e.opts.Prefix, mapErr(err))
	}
	if len(resp.Kvs) == 0 {
		return "", nil
	}
	return string(resp.Kvs[0].Value), nil
}

// condition returns the comparison that fences a write made under ctx: the
// term ctx carries (from Lead), else the elector's current term. It fails
// with ErrNotLeader if there is neither.
func (e *Elector) condition(ctx context.Context) (clientv3.Cmp, string, error) {
	if e == nil || e.client == nil {
		return clientv3.Cmp{}, "", errZeroElector
	}
	t, _ := ctx.Value(termKey{e}).(*term)
	if t == nil {
		e.mu.Lock()
		t = e.term
		e.mu.Unlock()
	}
	if t == nil {
		return clientv3.Cmp{}, "", fmt.Errorf("%w: %s does not lead election %s", ErrNotLeader, e.opts.Identity, e.opts.Prefix)
	}
	desc := fmt.Sprintf("%s no longer leads election %s (its key %s of revision %d is gone)", e.opts.Identity, e.opts.Prefix, t.key, t.rev)
	return clientv3.Compare(clientv3.CreateRevision(t.key), "=", t.rev), desc, nil
}

// permanent reports whether a campaign error will not go away by retrying.
func permanent(err error) bool {
	if s, ok := status.FromError(err); ok {
		switch s.Code() {
		case codes.PermissionDenied, codes.Unauthenticated, codes.InvalidArgument:
			return true
		}
	}
	var ee interface{ Code() codes.Code }
	if errors.As(err, &ee) {
		switch ee.Code() {
		case codes.PermissionDenied, codes.Unauthenticated, codes.InvalidArgument:
			return true
		}
	}
	return false
}
