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

	"github.com/controlloop/controlloop/informer"
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
	ids        atomic.Uint64 // the last reconcile id

	mu      sync.Mutex // protects the fields below
	synced  []func() bool
	running bool
}

// New returns a controller that reconciles with r. It starts nothing: call
// Run.
func New[R comparable](r Reconciler[R], opts Options[R]) (*Controller[R], error) {
	if r == nil {
		return nil, fmt.Errorf("reconcile: nil Reconciler")
	}
	if err := opts.validate(); err != nil {
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
		c.metrics = opts.Metrics.NewControllerMetrics(opts.Name, opts.Workers)
	}
	c.queue = workqueue.New(qopts)
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
// replica leads, until ctx ends. It then stops taking requests, lets the
// reconciles in flight finish for up to ShutdownGracePeriod, cancels their
// contexts, shuts the queue down and returns. It returns nil after a clean
// shutdown, [ErrCacheSyncTimeout] if the caches did not sync in time, and
// [ErrShutdownTimeout] if a reconciler ignored its cancelled context.
//
// A controller runs once: Run after Run returns [ErrAlreadyRunning].
func (c *Controller[R]) Run(ctx context.Context) error {
	c.mu.Lock()
	if c.running {
		c.mu.Unlock()
		return ErrAlreadyRunning
	}
	c.running = true
	synced := c.synced
	c.mu.Unlock()
	defer c.queue.ShutDown()

	if err := c.waitForSync(ctx, synced); err != nil {
		return err
	}
	for {
		leadCtx, err := c.opts.LeaderElector.Lead(ctx)
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

func (c *Controller[R]) waitForSync(ctx context.Context, synced []func() bool) error {
	syncCtx, cancel := context.WithTimeout(ctx, c.opts.CacheSyncTimeout)
	defer cancel()
	if err := informer.WaitForCacheSync(syncCtx, synced...); err != nil && ctx.Err() == nil {
		return fmt.Errorf("%w (controller %s, after %v)", ErrCacheSyncTimeout, c.opts.Name, c.opts.CacheSyncTimeout)
	}
	return nil // synced, or Run's ctx ended: a clean stop
}

// runWorkers runs the workers until leadCtx ends. If leadership was lost,
// the reconciles in flight are cancelled at once, since another replica may
// now act; if ctx ended, they get the grace period first.
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
	if ctx.Err() == nil {
		cancelWork()
		<-stopped
		return nil
	}
	grace := time.NewTimer(c.opts.ShutdownGracePeriod)
	defer grace.Stop()
	select {
	case <-stopped:
		return nil
	case <-grace.C:
	}
	c.log.Warn("shutdown grace period over: cancelling reconciles in flight", "grace", c.opts.ShutdownGracePeriod)
	cancelWork()
	grace.Reset(c.opts.ShutdownGracePeriod)
	select {
	case <-stopped:
		return nil
	case <-grace.C:
		return fmt.Errorf("%w (controller %s)", ErrShutdownTimeout, c.opts.Name)
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
	c.reconcileOne(workCtx, req)
	return true
}

func (c *Controller[R]) reconcileOne(ctx context.Context, req R) {
	var start time.Time
	if c.metrics != nil {
		c.metrics.ReconcileStarted()
		start = time.Now()
	}
	rctx := &reconcileContext[R]{Context: ctx, id: c.ids.Add(1), log: c.log, req: req}
	var runCtx context.Context = rctx
	if c.opts.Timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(rctx, c.opts.Timeout)
		defer cancel()
	}

	result, err, panicked := c.call(runCtx, req)
	obs := Observation{Panicked: panicked}
	obs.TimedOut = c.opts.Timeout > 0 && errors.Is(runCtx.Err(), context.DeadlineExceeded)
	switch {
	case err != nil:
		obs.Outcome = Failure
		if errors.Is(err, ErrTerminal) {
			obs.Terminal = true
			c.queue.Forget(req)
			c.log.Error("reconcile failed for good: not retrying", "request", req, "reconcileID", rctx.idString(), "err", err)
		} else {
			c.queue.AddWithOptions(req, workqueue.AddOptions{RateLimited: true, Priority: result.Priority})
			c.log.Error("reconcile failed: retrying", "request", req, "reconcileID", rctx.idString(), "err", err)
		}
	case result.RequeueAfter > 0:
		obs.Outcome = RequeueAfter
		c.queue.Forget(req)
		c.queue.AddWithOptions(req, workqueue.AddOptions{After: result.RequeueAfter, Priority: result.Priority})
	default:
		obs.Outcome = Success
		c.queue.Forget(req)
	}
	if c.metrics != nil {
		obs.Duration = time.Since(start)
		c.metrics.ReconcileFinished(obs)
	}
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
}

func (c *reconcileContext[R]) Value(key any) any {
	if key == (reconcileInfoKey{}) {
		return c
	}
	return c.Context.Value(key)
}

func (c *reconcileContext[R]) idString() string { return fmt.Sprintf("%016x", c.id) }

func (c *reconcileContext[R]) logger() *slog.Logger {
	return c.log.With("request", c.req, "reconcileID", c.idString())
}
