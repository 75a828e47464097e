package etcd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/controlloop/controlloop"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Elector is a leader elector with the protocol of etcd's
// concurrency.Election: candidates queue in the order they campaigned
// (FIFO), each with a key bound to a lease of Options.TTL that it keeps
// alive; the one whose key is oldest leads. It implements the reconcile package's LeaderElector interface.
//
// A leader loses its term when its key disappears (its lease expired or was
// revoked, or the key was deleted) or its lease can no longer be renewed;
// its lead context is then cancelled. A leader cut off from etcd learns
// this late: up to about TTL after the others may already lead. Writes that
// must not happen after that go through [Source.Fenced], which etcd itself
// refuses once the term is over.
//
// An Elector must be created with [NewElector]. Its methods are safe for
// concurrent use; concurrent Lead calls campaign as separate candidates.
type Elector struct {
	client *clientv3.Client
	opts   ElectorOptions
	log    *slog.Logger
	wg     sync.WaitGroup // counts the goroutines that hold terms

	mu   sync.Mutex // protects term
	term *term      // the latest term won and not yet over, if any
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
		return nil, fmt.Errorf("etcd: %w: nil client", controlloop.ErrInvalid)
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	return &Elector{client: client, opts: opts, log: opts.Logger.With("election", opts.Prefix, "identity", opts.Identity)}, nil
}

// Lead campaigns and blocks until this candidate leads, then returns a
// context that is cancelled when the term ends: leadership was lost, or ctx
// ended, in which case the elector resigns (deletes its key and revokes its
// lease) so that the next candidate leads at once. The lead context carries
// the term, so that fenced writes made under it (or under a context derived
// from it, even through [context.WithoutCancel]) are refused by etcd once
// that term is over.
//
// Failures to reach etcd while campaigning are logged and retried with
// backoff. Lead returns an error only when ctx ends first (ctx.Err()) or
// etcd refuses the campaign for good (permission denied).
func (e *Elector) Lead(ctx context.Context) (context.Context, error) {
	delay := 100 * time.Millisecond
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		leadCtx, err := e.campaign(ctx)
		if err == nil {
			return leadCtx, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if permanent(err) {
			return nil, fmt.Errorf("etcd: campaign in %s: %w", e.opts.Prefix, err)
		}
		e.log.Warn("etcd: campaign failed, retrying", "err", err, "delay", delay)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, e.opts.TTL)
	}
}

// errTermLost means a campaign's key vanished before it won.
var errTermLost = errors.New("lease lost while campaigning")

// campaign runs one campaign with a new session, and starts the term's
// goroutine if it wins. It returns as soon as ctx ends, even if etcd does
// not answer; a goroutine then revokes the campaign's lease.
//
// The protocol is concurrency.Election's, so that other clients of it (such
// as etcdctl elect) take part in the same election: each candidate puts
// <Prefix>/<lease ID in hex> bound to its lease, and leads once every key
// created before its own is gone. It is written out here so that every step
// respects ctx: Election.Campaign resigns on the client's context, which
// blocks while etcd is unreachable.
func (e *Elector) campaign(ctx context.Context) (context.Context, error) {
	ttl := int64(e.opts.TTL / time.Second)
	grant, err := e.client.Grant(ctx, ttl)
	if err != nil {
		return nil, fmt.Errorf("grant lease: %w", mapErr(err))
	}
	// The session outlives ctx: when ctx ends, the term's goroutine still
	// needs it to resign.
	session, err := concurrency.NewSession(e.client,
		concurrency.WithLease(grant.ID), concurrency.WithTTL(int(ttl)),
		concurrency.WithContext(context.WithoutCancel(ctx)))
	if err != nil {
		e.revoke(grant.ID)
		return nil, fmt.Errorf("new session: %w", err)
	}

	type won struct {
		t   *term
		err error
	}
	result := make(chan won, 1)
	e.wg.Go(func() {
		// A lease lost while waiting ends the campaign, to start a new one.
		cctx, cancel := context.WithCancel(ctx)
		stop := context.AfterFunc(session.Ctx(), cancel)
		t, err := e.run(cctx, session)
		stop()
		cancel()
		if err == nil && ctx.Err() != nil {
			err = ctx.Err() // won as the caller gave up: hand leadership on
		}
		if err != nil {
			e.closeSession(session)
			if session.Ctx().Err() != nil && ctx.Err() == nil {
				err = fmt.Errorf("%w: %w", errTermLost, err)
			}
		}
		result <- won{t, err}
	})
	var w won
	select {
	case w = <-result:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if w.err != nil {
		return nil, w.err
	}

	t := w.t
	leadCtx, end := context.WithCancel(context.WithValue(ctx, termKey{e}, t))
	e.mu.Lock()
	e.term = t
	e.mu.Unlock()
	e.log.Info("etcd: leading", "key", t.key, "revision", t.rev)
	e.wg.Go(func() { e.hold(ctx, leadCtx, end, t, session) })
	return leadCtx, nil
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

// hold keeps a term until it is lost or ctx ends, then ends it: it clears
// the term, cancels the lead context and revokes the lease, which deletes
// the key, so that the next candidate leads at once.
func (e *Elector) hold(ctx, leadCtx context.Context, end context.CancelFunc, t *term, session *concurrency.Session) {
	reason := e.waitLoss(leadCtx, t, session)
	e.mu.Lock()
	if e.term == t {
		e.term = nil
	}
	e.mu.Unlock()
	end()
	if ctx.Err() != nil {
		e.log.Info("etcd: resigning", "key", t.key)
	} else {
		e.log.Warn("etcd: lost leadership", "key", t.key, "reason", reason)
	}
	e.closeSession(session)
}

// waitLoss blocks until the term ends and says why: leadCtx done (the
// caller's ctx ended), the session's lease lost, or the key deleted.
func (e *Elector) waitLoss(leadCtx context.Context, t *term, session *concurrency.Session) string {
	from := t.rev + 1
	for {
		wctx, cancel := context.WithCancel(watchContext(leadCtx))
		wch := e.client.Watch(wctx, t.key, clientv3.WithRev(from), clientv3.WithFilterPut())
		reason := ""
		for reason == "" {
			select {
			case <-leadCtx.Done():
				reason = "context done"
			case <-session.Done():
				reason = "lease could not be renewed"
			case resp, ok := <-wch:
				switch {
				case !ok || resp.Err() != nil:
					reason = "retry" // watch again from where it stopped
				default:
					for _, ev := range resp.Events {
						if ev.Type == mvccpb.DELETE {
							reason = "key deleted (lease expired or revoked)"
						}
					}
					from = resp.Header.Revision + 1
				}
			}
		}
		cancel()
		if reason != "retry" {
			return reason
		}
		if errors.Is(leadCtx.Err(), context.Canceled) {
			return "context done"
		}
		// The watch failed (etcd unreachable, no leader, compacted): the
		// session's keepalive decides whether the term survives; look again
		// from a read of the key.
		select {
		case <-leadCtx.Done():
			return "context done"
		case <-session.Done():
			return "lease could not be renewed"
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := e.client.Get(leadCtx, t.key)
		if err == nil {
			if len(resp.Kvs) == 0 || resp.Kvs[0].CreateRevision != t.rev {
				return "key deleted (lease expired or revoked)"
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
// the lease expires by itself.
func (e *Elector) revoke(id clientv3.LeaseID) {
	ctx, cancel := context.WithTimeout(context.Background(), e.cleanupTimeout())
	defer cancel()
	if _, err := e.client.Revoke(ctx, id); err != nil {
		e.log.Debug("etcd: revoke lease failed; it will expire", "err", err)
	}
}

func (e *Elector) cleanupTimeout() time.Duration { return min(e.opts.TTL, 3*time.Second) }

// Wait blocks until every campaign and term of this elector has ended and
// been given up: call it after the contexts passed to Lead have ended to
// know that the elector resigned, revoked its leases (or gave up trying,
// after min(TTL, 3s) each) and its goroutines have exited.
func (e *Elector) Wait() { e.wg.Wait() }

// Leading reports whether the elector holds a term, as far as it knows.
func (e *Elector) Leading() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.term != nil
}

// Leader returns the identity of the current leader of the election, or
// "" if no candidate leads.
func (e *Elector) Leader(ctx context.Context) (string, error) {
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
