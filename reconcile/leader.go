package reconcile

import (
	"context"
	"sync"
)

// A LeaderElector decides whether this replica may act. A controller runs
// its workers only while it leads; its caches keep running meanwhile, so a
// replica that becomes leader starts warm.
type LeaderElector interface {
	// Lead blocks until this replica leads, then returns a context that is
	// cancelled when leadership is lost or ctx ends. It returns an error
	// only when ctx ends first (ctx.Err()) or leading is impossible.
	// Implementations give up leadership when ctx ends.
	Lead(ctx context.Context) (context.Context, error)
}

// LeaderElectorFunc adapts a function to a [LeaderElector].
type LeaderElectorFunc func(ctx context.Context) (context.Context, error)

// Lead calls f.
func (f LeaderElectorFunc) Lead(ctx context.Context) (context.Context, error) { return f(ctx) }

var _ LeaderElector = LeaderElectorFunc(nil)

// AlwaysLeader leads at once and never loses: for a controller that runs as
// a single replica. It is the default.
var AlwaysLeader LeaderElector = LeaderElectorFunc(func(ctx context.Context) (context.Context, error) {
	return ctx, ctx.Err()
})

// LocalElection is an in-process election among candidates: one leads at a
// time, the others queue in order of arrival. It serves tests and
// single-process programs that run several replicas; a real deployment uses
// an elector backed by a shared store (the etcd module has one).
//
// A zero LocalElection is ready to use; it must not be copied.
type LocalElection struct {
	mu      sync.Mutex // protects the fields below
	leader  *candidate
	waiting []*candidate
}

type candidate struct {
	name   string
	won    chan struct{}      // closed when it becomes leader
	cancel context.CancelFunc // ends its lead context
}

// Candidate returns an elector that campaigns in e under name.
func (e *LocalElection) Candidate(name string) LeaderElector {
	return LeaderElectorFunc(func(ctx context.Context) (context.Context, error) {
		c := &candidate{name: name, won: make(chan struct{})}
		e.mu.Lock()
		e.waiting = append(e.waiting, c)
		e.lockedPromote()
		e.mu.Unlock()
		select {
		case <-c.won:
		case <-ctx.Done():
			e.withdraw(c)
			return nil, ctx.Err()
		}
		leadCtx, cancel := context.WithCancel(ctx)
		e.mu.Lock()
		c.cancel = cancel
		if e.leader != c { // deposed before it could start
			cancel()
		}
		e.mu.Unlock()
		context.AfterFunc(leadCtx, func() { e.withdraw(c) })
		return leadCtx, nil
	})
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
// the next candidate in line leads.
func (e *LocalElection) Depose() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.leader; c != nil {
		e.leader = nil
		if c.cancel != nil {
			c.cancel()
		}
		e.lockedPromote()
	}
}

// withdraw removes c from the election, handing on leadership if it led.
func (e *LocalElection) withdraw(c *candidate) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.leader == c {
		e.leader = nil
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
