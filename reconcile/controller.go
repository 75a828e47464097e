package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/workqueue"
)

// Controller runs a [Reconciler] over a work queue with a pool of workers.
// Event sources (see [Watch]) add requests to its queue; each worker takes
// a request, reconciles it, and acts on the outcome as the package
// documentation describes.
//
// Create one with [New]; its methods are safe for concurrent use.
type Controller[R comparable] struct {
	reconciler Reconciler[R]
	opts       Options[R]
	queue      *workqueue.Queue[R]
	metrics    ControllerMetrics // nil when metrics are off
	log        *slog.Logger
	ids        atomic.Uint64     // the last reconcile id
	intro      *introspection[R] // nil: no reasons, states nor spans kept

	fresh freshness[R] // stale-cache gating and waiters: fresh.go, wait.go

	mu      sync.Mutex // protects the fields below
	synced  []func() bool
	probes  []bindingProbe // the Watch bindings
	started bool           // Run was called
}

// New returns a controller that reconciles with r. It starts nothing: call
// Run. A nil r and invalid options are refused with an error wrapping
// [controlloop.ErrInvalid] that names each fault.
func New[R comparable](r Reconciler[R], opts Options[R]) (*Controller[R], error) {
	var errs []error
	if r == nil || isNilPointer(r) {
		errs = append(errs, fmt.Errorf("reconcile: New: nil Reconciler: %w", controlloop.ErrInvalid))
	}
	if err := errors.Join(append(errs, opts.validate())...); err != nil {
		return nil, err
	}
	opts.setDefaults()
	qopts := workqueue.Options[R]{Name: opts.Name, RateLimiter: opts.RateLimiter}
	c := &Controller[R]{
		reconciler: r,
		opts:       opts,
		log:        opts.Logger.With("controller", opts.Name),
	}
	if opts.Metrics != nil {
		qopts.Metrics = opts.Metrics
		c.metrics = opts.Metrics.ForController(opts.Name, opts.Workers)
		if c.metrics == nil {
			return nil, fmt.Errorf("reconcile: Options.Metrics.ForController returned nil: %w", controlloop.ErrInvalid)
		}
	}
	c.setUpIntrospection(&opts, &qopts)
	q, err := workqueue.New(qopts)
	if err != nil {
		return nil, fmt.Errorf("reconcile: %w", err)
	}
	c.queue = q
	c.ids.Store(rand.Uint64() >> 16) // ids from different runs rarely collide
	return c, nil
}

// Name returns the controller's name.
func (c *Controller[R]) Name() string { return c.opts.Name }

// Queue returns the controller's work queue, for event sources and for
// code that enqueues requests itself.
func (c *Controller[R]) Queue() *workqueue.Queue[R] { return c.queue }

// LowPriority returns the priority for initial-list and resync events.
func (c *Controller[R]) LowPriority() int { return *c.opts.LowPriority }

// WaitForSync makes Run wait, before it starts any worker, until hasSynced
// reports true. Event sources call it for the caches they read from.
func (c *Controller[R]) WaitForSync(hasSynced func() bool) {
	c.mu.Lock()
	c.synced = append(c.synced, hasSynced)
	c.mu.Unlock()
}

// Run waits for the caches to sync, then runs the workers whenever this
// replica leads (see Options.LeaderElector), until ctx ends.
//
// Stopping is bounded. When ctx ends, workers stop taking requests and the
// reconciles in flight get Options.ShutdownGracePeriod (G) to finish; then
// their contexts are cancelled and they get min(G, 1s) more to return. When
// leadership is lost, their contexts are cancelled at once and they get
// the same min(G, 1s). A reconcile still running then makes Run return
// [ErrShutdownTimeout] and leave its worker behind (a reconciler that
// ignores its context); this is the only case in which Run leaves
// goroutines running. So once ctx ends, Run returns within
// G + min(G, 1s), plus the time its LeaderElector takes to give up.
//
// It returns nil when it stopped because ctx ended, [ErrCacheSyncTimeout]
// if the caches did not sync in time, the error of a Lead that failed
// other than by ctx ending (a shared elector: [ErrElectorInUse]), and
// ErrShutdownTimeout as above.
//
// A controller runs once: a second Run, while the first runs or after it
// returned, returns at once an error wrapping
// [controlloop.ErrAlreadyStarted].
func (c *Controller[R]) Run(ctx context.Context) error {
	c.mu.Lock()
	if c.started {
		c.mu.Unlock()
		return fmt.Errorf("reconcile: Controller.Run: %w", controlloop.ErrAlreadyStarted)
	}
	c.started = true
	synced := c.synced
	c.mu.Unlock()
	defer c.queue.ShutDown()

	if err := c.waitForSync(ctx, synced); err != nil {
		return err
	}
	defer c.watchVersions(ctx)() // fresh.go: wakes parked requests as caches advance
	elector := c.elector(ctx)
	for {
		leadCtx, err := elector.Lead(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("reconcile: controller %s: leader election: %w", c.opts.Name, err)
		}
		c.log.Info("leading: starting workers", "workers", c.opts.Workers)
		if err := c.runWorkers(ctx, leadCtx); err != nil || ctx.Err() != nil {
			return err
		}
		c.log.Warn("lost leadership: workers stopped")
	}
}

// elector returns the controller's own elector, else the election of the
// Manager running it (found in ctx), else AlwaysLeader.
func (c *Controller[R]) elector(ctx context.Context) LeaderElector {
	if c.opts.LeaderElector != nil {
		return c.opts.LeaderElector
	}
	if shared, ok := ctx.Value(sharedElectionKey{}).(*sharedElection); ok {
		return shared
	}
	return AlwaysLeader{}
}

// waitForSync waits for the caches (what WaitForSync registered, the
// bindings' informers among them) within CacheSyncTimeout, then for the
// bindings' initial-list delivery within HandlerSyncTimeout: a slow
// handler has a deadline of its own, apart from the list's.
func (c *Controller[R]) waitForSync(ctx context.Context, synced []func() bool) error {
	if err := c.waitFor(ctx, synced, c.opts.CacheSyncTimeout, ErrCacheSyncTimeout); err != nil || ctx.Err() != nil {
		return err
	}
	return c.waitForHandlers(ctx)
}

// runWorkers runs the workers until leadCtx ends, then stops them: if
// leadership was lost, the reconciles in flight are cancelled at once,
// since another replica may now act; if ctx ended, they get the grace
// period first. Either way, once cancelled they get cancelWait to return,
// after which runWorkers returns ErrShutdownTimeout and leaves them behind.
func (c *Controller[R]) runWorkers(ctx, leadCtx context.Context) error {
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(leadCtx))
	defer cancelWork()
	var wg sync.WaitGroup
	for range c.opts.Workers {
		wg.Go(func() {
			for c.processNext(leadCtx, workCtx) {
			}
		})
	}
	stopped := make(chan struct{})
	go func() { wg.Wait(); close(stopped) }()

	<-leadCtx.Done()
	when := "after losing leadership"
	if ctx.Err() != nil {
		when = "at shutdown"
		if !waitFor(stopped, c.opts.ShutdownGracePeriod) {
			c.log.Warn("shutdown grace period over: cancelling reconciles in flight", "grace", c.opts.ShutdownGracePeriod)
		}
	}
	cancelWork()
	if !waitFor(stopped, c.cancelWait()) {
		return fmt.Errorf("%w (controller %s, %s, %v after cancelling them)", ErrShutdownTimeout, c.opts.Name, when, c.cancelWait())
	}
	return nil
}

// cancelWait is how long reconciles whose context was cancelled get to
// return: the grace period, but at most maxCancelWait.
func (c *Controller[R]) cancelWait() time.Duration {
	return min(c.opts.ShutdownGracePeriod, maxCancelWait)
}

// maxCancelWait bounds [Controller.cancelWait].
const maxCancelWait = time.Second

// waitFor reports whether done closes within d; it returns as soon as done
// closes.
func waitFor(done <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// processNext reconciles one request; it reports false when the worker
// should stop.
func (c *Controller[R]) processNext(leadCtx, workCtx context.Context) bool {
	req, err := c.queue.Get(leadCtx)
	if err != nil {
		return false
	}
	defer c.queue.Done(req)
	if a := c.opts.Admitter; a != nil { // sharding: re-check ownership now
		ctx, end, ok := a.Begin(workCtx, req)
		if !ok {
			c.queue.Forget(req)
			c.dropReason(req) // introspect.go: no reconcile will take it
			return true
		}
		defer end()
		workCtx = ctx
	}
	if c.parkIfBehind(req) { // fresh.go: a cache lacks the request's own write
		return true
	}
	c.reconcileOne(workCtx, req)
	return true
}

func (c *Controller[R]) reconcileOne(ctx context.Context, req R) {
	var start time.Time
	if c.metrics != nil {
		c.metrics.ReconcileStarted()
	}
	if c.metrics != nil || c.intro != nil {
		start = time.Now()
	}
	read := c.readVersion() // wait.go: the cache version this reconcile reads
	rctx := &reconcileContext[R]{Context: ctx, id: c.ids.Add(1), log: c.log, req: req, c: c}
	c.beginReconcile(rctx)
	runCtx, endSpan := c.startSpan(rctx)
	if c.opts.Timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(runCtx, c.opts.Timeout)
		defer cancel()
	}

	result, err, panicked := c.call(runCtx, req)
	obs := Observation{Panicked: panicked}
	obs.TimedOut = c.opts.Timeout > 0 && errors.Is(runCtx.Err(), context.DeadlineExceeded)
	switch {
	case err != nil:
		obs.Outcome = OutcomeError
		if errors.Is(err, ErrTerminal) {
			obs.Terminal = true
			c.queue.Forget(req)
			c.log.Error("reconcile failed for good: not retrying", "request", req, "reconcileID", rctx.idString(), "err", err)
		} else {
			c.noteReason(req, Reason{Trigger: TriggerRetry})
			c.queue.AddWithOptions(req, workqueue.AddOptions{RateLimited: true, Priority: result.Priority})
			c.log.Error("reconcile failed: retrying", "request", req, "reconcileID", rctx.idString(), "err", err)
		}
	case result.RequeueAfter > 0:
		obs.Outcome = OutcomeRequeueAfter
		c.queue.Forget(req)
		c.noteReason(req, Reason{Trigger: TriggerRequeueAfter})
		c.queue.AddWithOptions(req, workqueue.AddOptions{After: result.RequeueAfter, Priority: result.Priority})
	default:
		obs.Outcome = OutcomeSuccess
		c.queue.Forget(req)
	}
	c.reconciled(req, read, err) // wait.go: wakes WaitUntilReconciled
	if !start.IsZero() {
		obs.Duration = time.Since(start)
	}
	if c.metrics != nil {
		c.metrics.ReconcileFinished(obs)
	}
	c.endReconcile(rctx, obs, err, start)
	endSpan(obs, err)
}

// call runs the reconciler, turning a panic into an error unless the
// options say to let it crash.
func (c *Controller[R]) call(ctx context.Context, req R) (result Result, err error, panicked bool) {
	if !c.opts.LetPanicsCrash {
		defer func() {
			if p := recover(); p != nil {
				result, panicked = Result{}, true
				err = fmt.Errorf("reconcile: panic: %v", p)
				c.log.Error("reconciler panicked", "request", req, "panic", p, "stack", string(debug.Stack()))
			}
		}()
	}
	result, err = c.reconciler.Reconcile(ctx, req)
	return result, err, false
}

// reconcileContext is a reconcile's context: it carries the reconcile's id
// and request in one allocation, and builds a logger only when asked.
type reconcileContext[R comparable] struct {
	context.Context
	id  uint64
	log *slog.Logger
	req R
	c   *Controller[R]
	// why the reconcile ran, if hasWhy: the controller keeps reasons.
	why    Reason
	hasWhy bool
}

func (c *reconcileContext[R]) Value(key any) any {
	if key == (reconcileInfoKey{}) {
		return c
	}
	return c.Context.Value(key)
}

func (c *reconcileContext[R]) idString() string { return fmt.Sprintf("%016x", c.id) }

func (c *reconcileContext[R]) logger() *slog.Logger {
	if c.hasWhy {
		return c.log.With("request", c.req, "reconcileID", c.idString(), "reason", c.why.String())
	}
	return c.log.With("request", c.req, "reconcileID", c.idString())
}

func (c *reconcileContext[R]) reason() (Reason, bool) { return c.why, c.hasWhy }

func (c *reconcileContext[R]) wrote(w write) {
	if c.c.opts.StaleCacheTimeout != NoStaleCacheGating {
		c.c.fresh.record(c.req, w)
	}
}
