package reconcile

import (
	"context"
	"fmt"
	"sync"
)

// A LeaderElector decides whether this replica may act. A controller runs
// its workers only while it leads; its caches keep running meanwhile, so a
// replica that becomes leader starts warm.
//
// An elector is one candidate: while one Lead campaigns or leads (until its
// lead context ends), another Lead of the same elector returns an error
// wrapping [ErrElectorInUse]. To make several controllers lead together,
// give the elector to the [Manager] that runs them (Manager.LeaderElector),
// not to each controller.
type LeaderElector interface {
	// Lead blocks until this replica leads, then returns a context that is
	// cancelled when leadership is lost or ctx ends. It returns an error
	// when ctx ends first (ctx.Err()), when another Lead of the same
	// elector is under way ([ErrElectorInUse]), or when leading is
	// impossible. Implementations give up leadership when ctx ends.
	Lead(ctx context.Context) (context.Context, error)
}

// LeaderElectorFunc adapts a function to a [LeaderElector]. The function
// itself must keep the one-candidate rule of [LeaderElector].
type LeaderElectorFunc func(ctx context.Context) (context.Context, error)

// Lead calls f.
func (f LeaderElectorFunc) Lead(ctx context.Context) (context.Context, error) { return f(ctx) }

var _ LeaderElector = LeaderElectorFunc(nil)

// AlwaysLeader leads at once and never loses: for a controller that runs as
// a single replica. A controller whose Options.LeaderElector is nil, run
// by no [Manager] with an elector, leads this way. Its lead context is the
// ctx passed to Lead. Unlike other electors, any number of Lead calls may
// share it: there is no election to take part in.
type AlwaysLeader struct{}

// Lead returns ctx, or ctx's error if it has ended.
func (AlwaysLeader) Lead(ctx context.Context) (context.Context, error) { return ctx, ctx.Err() }

var _ LeaderElector = AlwaysLeader{}

// LocalElection is an in-process election among candidates: one leads at a
// time, the others queue in order of arrival. It serves tests and
// single-process programs that run several replicas; a real deployment uses
// an elector backed by a shared store (the etcd module has one).
//
// A zero LocalElection is ready to use; it must not be copied. Its methods
// and its candidates' Lead are safe for concurrent use.
type LocalElection struct {
	mu      sync.Mutex // protects the fields below and every candidate's state
	leader  *candidate
	waiting []*candidate
}

// candidate is one LocalElection candidate; its fields below e are guarded
// by e.mu.
type candidate struct {
	e    *LocalElection
	name string

	busy    bool               // a Lead campaigns or leads
	won     chan struct{}      // closed when it becomes leader
	leadCtx context.Context    // the current term's context, nil while campaigning
	cancel  context.CancelFunc // ends leadCtx
}

// Candidate returns a new candidate that campaigns in e under name. The
// candidate is one replica: a Lead while another Lead of it campaigns or
// leads returns an error wrapping [ErrElectorInUse]. After its lead
// context has ended it may Lead again, and then queues behind the
// candidates already waiting.
func (e *LocalElection) Candidate(name string) LeaderElector {
	return &candidate{e: e, name: name}
}

// Lead campaigns until c leads or ctx ends.
func (c *candidate) Lead(ctx context.Context) (context.Context, error) {
	e := c.e
	e.mu.Lock()
	if c.busy {
		if c.leadCtx == nil || c.leadCtx.Err() == nil {
			e.mu.Unlock()
			return nil, fmt.Errorf("reconcile: LocalElection candidate %q: %w", c.name, ErrElectorInUse)
		}
		e.lockedWithdraw(c) // its last term is over: do now what its AfterFunc is about to
	}
	if err := ctx.Err(); err != nil {
		e.mu.Unlock()
		return nil, err
	}
	c.busy, c.leadCtx, c.cancel = true, nil, nil
	won := make(chan struct{})
	c.won = won
	e.waiting = append(e.waiting, c)
	e.lockedPromote()
	e.mu.Unlock()

	select {
	case <-won:
	case <-ctx.Done():
		e.mu.Lock()
		if c.busy && c.won == won { // not already deposed
			e.lockedWithdraw(c)
		}
		e.mu.Unlock()
		return nil, ctx.Err()
	}
	leadCtx, cancel := context.WithCancel(ctx)
	e.mu.Lock()
	if e.leader != c || c.won != won { // deposed before it could start
		e.mu.Unlock()
		cancel()
		return leadCtx, nil
	}
	c.leadCtx, c.cancel = leadCtx, cancel
	e.mu.Unlock()
	context.AfterFunc(leadCtx, func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		if c.busy && c.leadCtx == leadCtx { // not already withdrawn, nor leading again
			e.lockedWithdraw(c)
		}
	})
	return leadCtx, nil
}

// Leader returns the name of the current leader, or "" if none leads.
func (e *LocalElection) Leader() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.leader == nil {
		return ""
	}
	return e.leader.name
}

// Depose takes leadership from the current leader, as a lost lease would;
// the next candidate in line leads. The deposed candidate may Lead again.
func (e *LocalElection) Depose() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.leader; c != nil {
		e.lockedWithdraw(c)
	}
}

// lockedWithdraw removes c from the election, ending its term and handing
// on leadership if it led.
func (e *LocalElection) lockedWithdraw(c *candidate) {
	c.busy = false
	if e.leader == c {
		e.leader = nil
		if c.cancel != nil {
			c.cancel()
		}
		e.lockedPromote()
		return
	}
	for i, w := range e.waiting {
		if w == c {
			e.waiting = append(e.waiting[:i], e.waiting[i+1:]...)
			return
		}
	}
}

func (e *LocalElection) lockedPromote() {
	if e.leader != nil || len(e.waiting) == 0 {
		return
	}
	e.leader = e.waiting[0]
	e.waiting = e.waiting[1:]
	close(e.leader.won)
}
