package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/controlloop/controlloop"
)

// A Runnable runs until its context ends: informers, factories and
// controllers are Runnables.
type Runnable interface {
	Run(ctx context.Context) error
}

// RunnableFunc adapts a function to a [Runnable].
type RunnableFunc func(ctx context.Context) error

// Run calls f.
func (f RunnableFunc) Run(ctx context.Context) error { return f(ctx) }

var _ Runnable = RunnableFunc(nil)

// Manager runs the caches and controllers of a program together, with one
// Run and an ordered shutdown: when Run's context ends, the controllers stop
// first (finishing the reconciles in flight against caches that still
// run), then the caches.
//
// Leadership belongs to the Manager: with a LeaderElector, the Manager
// campaigns once for every controller it runs whose Options.LeaderElector
// is nil, and those controllers work exactly while it leads. When it loses
// leadership, all their reconciles in flight are cancelled and the Manager
// campaigns again; the caches keep running. A controller with its own
// Options.LeaderElector takes part in that election instead.
//
// The zero Manager is ready to use and leads at once; set LeaderElector
// and add everything before Run: what is added once Run has started is
// not run.
type Manager struct {
	// LeaderElector, if set, is the election the Manager's controllers
	// share. Defaults to nil: every controller leads at once, unless it
	// has its own Options.LeaderElector. It must not also be given to a
	// controller: an elector is one candidate (see [LeaderElector]).
	LeaderElector LeaderElector

	mu          sync.Mutex // protects the fields below
	caches      []Runnable
	controllers []Runnable
	started     bool // Run was called
}

// AddCache adds an informer (or a factory of informers) to run.
func (m *Manager) AddCache(r Runnable) { m.add(&m.caches, r) }

// Ready returns nil once every cache of m that reports its readiness is
// ready, and otherwise the errors of those that are not, joined with
// [errors.Join]: the answer to a readiness probe. An informer or a factory
// reports it with a Ready() error method (see informer.Informer.Ready: not
// synced yet, or failing to list or watch its source); a cache without one
// counts as ready. Ready is safe to call at any time, from any goroutine:
// before Run, no informer has synced.
func (m *Manager) Ready() error {
	m.mu.Lock()
	caches := m.caches
	m.mu.Unlock()
	var errs []error
	for _, c := range caches {
		if r, ok := c.(interface{ Ready() error }); ok {
			errs = append(errs, r.Ready())
		}
	}
	return errors.Join(errs...)
}

// AddController adds a controller to run.
func (m *Manager) AddController(r Runnable) { m.add(&m.controllers, r) }

// Caches returns the caches added to m, in the order they were added: for
// code that inspects what a Manager runs, such as a test waiting until
// every cache has caught up (package reconciletest).
func (m *Manager) Caches() []Runnable {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.caches)
}

// Controllers returns the controllers added to m, in the order they were
// added.
func (m *Manager) Controllers() []Runnable {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.controllers)
}

func (m *Manager) add(to *[]Runnable, r Runnable) {
	m.mu.Lock()
	defer m.mu.Unlock()
	*to = append(*to, r)
}

// Run starts every cache and controller and waits until ctx ends, or until
// one of them fails: then it stops the rest, controllers before caches.
// It returns nil when it stopped because ctx ended and every cache and
// controller returned nil; otherwise every error they returned, joined
// with [errors.Join]. After ctx ends, Run returns once the controllers,
// the Manager's campaign and then the caches have returned: within the
// slowest controller's bound, plus the time LeaderElector takes to give
// up, plus the slowest cache's bound (see their Run docs).
//
// The Manager hands its election to the controllers through the context
// it runs them with, so a controller wrapped in another Runnable takes part
// as long as the wrapper runs it with that context.
//
// A Manager runs once: a second Run, while the first runs or after it
// returned, returns at once an error wrapping
// [controlloop.ErrAlreadyStarted]. A nil cache or controller makes Run
// fail at once with an error wrapping [controlloop.ErrInvalid], starting
// nothing.
func (m *Manager) Run(ctx context.Context) error {
	m.mu.Lock()
	if m.started {
		m.mu.Unlock()
		return fmt.Errorf("reconcile: Manager.Run: %w", controlloop.ErrAlreadyStarted)
	}
	m.started = true
	caches, controllers := m.caches, m.controllers
	m.mu.Unlock()
	if err := errors.Join(nilRunnables("cache", caches), nilRunnables("controller", controllers)); err != nil {
		return err
	}

	// Caches outlive controllers: they get their own context, ended only
	// after every controller has returned.
	cacheCtx, stopCaches := context.WithCancel(context.WithoutCancel(ctx))
	ctlCtx, stopControllers := context.WithCancel(ctx)
	defer stopControllers()
	var electionWG sync.WaitGroup // the campaigns of the shared election
	if m.LeaderElector != nil {
		shared := &sharedElection{elector: m.LeaderElector, ctx: ctlCtx, wg: &electionWG}
		ctlCtx = context.WithValue(ctlCtx, sharedElectionKey{}, shared)
	}

	var (
		mu   sync.Mutex
		errs []error
	)
	start := func(wg *sync.WaitGroup, ctx context.Context, r Runnable) {
		wg.Go(func() {
			if err := r.Run(ctx); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				stopControllers() // one failure stops everything
			}
		})
	}
	var cacheWG, ctlWG sync.WaitGroup
	for _, r := range caches {
		start(&cacheWG, cacheCtx, r)
	}
	for _, r := range controllers {
		start(&ctlWG, ctlCtx, r)
	}
	<-ctlCtx.Done()
	ctlWG.Wait()
	electionWG.Wait()
	stopCaches()
	cacheWG.Wait()
	return errors.Join(errs...)
}

// nilRunnables reports the nil entries of rs, which Run would call.
func nilRunnables(what string, rs []Runnable) error {
	var errs []error
	for i, r := range rs {
		if r == nil {
			errs = append(errs, fmt.Errorf("reconcile: Manager: %s %d is nil: %w", what, i, controlloop.ErrInvalid))
		}
	}
	return errors.Join(errs...)
}

// sharedElectionKey is the context key under which a Manager hands its
// election to its controllers.
type sharedElectionKey struct{}

// sharedElection is a Manager's election: every Lead of it joins one
// campaign of the Manager's elector, and every lead context it returns ends
// with that campaign's term.
type sharedElection struct {
	elector LeaderElector
	ctx     context.Context // the Manager's controllers': campaigns and terms end with it
	wg      *sync.WaitGroup // counts campaigns in progress

	mu  sync.Mutex // protects cur
	cur *campaign  // the last campaign started
}

// campaign is one Lead of the Manager's elector and the term it won.
type campaign struct {
	done    chan struct{}   // closed when Lead returned, after the fields below are set
	leadCtx context.Context // the term, if Lead succeeded
	err     error
}

// over reports whether c has failed or its term has ended.
func (c *campaign) over() bool {
	select {
	case <-c.done:
		return c.err != nil || c.leadCtx.Err() != nil
	default:
		return false
	}
}

// Lead joins the campaign under way, or starts one if the last is over,
// and waits until it wins or ctx ends. The lead context carries the term's
// values (an elector's fencing token, say) and ends with the term or ctx.
func (s *sharedElection) Lead(ctx context.Context) (context.Context, error) {
	c := s.campaign()
	select {
	case <-c.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if c.err != nil {
		return nil, c.err
	}
	leadCtx, cancel := context.WithCancel(c.leadCtx)
	stop := context.AfterFunc(ctx, cancel)
	context.AfterFunc(leadCtx, func() { stop() })
	return leadCtx, nil
}

func (s *sharedElection) campaign() *campaign {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil && !s.cur.over() {
		return s.cur
	}
	c := &campaign{done: make(chan struct{})}
	s.cur = c
	s.wg.Go(func() {
		c.leadCtx, c.err = s.elector.Lead(s.ctx)
		close(c.done)
	})
	return c
}
