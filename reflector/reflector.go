package reflector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/controlloop/controlloop"
)

// Reflector keeps a [Store] in step with a source: it lists, replaces the
// store's contents, then watches from the listed version and applies each
// change in order. See the package documentation for how it recovers.
//
// A Reflector must be created with [New]. Run drives it; the other methods
// are safe for concurrent use with Run.
type Reflector[T controlloop.Object] struct {
	lw   controlloop.ListerWatcher[T]
	sink Store[T]
	opts Options
	log  *slog.Logger

	running atomic.Bool

	mu     sync.Mutex // protects lastRV
	lastRV string
}

// New returns a reflector that feeds sink from lw. It starts nothing: call
// [Reflector.Run]. It fails with an error wrapping [controlloop.ErrInvalid]
// if lw or sink is nil or opts is invalid.
func New[T controlloop.Object](lw controlloop.ListerWatcher[T], sink Store[T], opts Options) (*Reflector[T], error) {
	if lw == nil {
		return nil, fmt.Errorf("reflector: %w: nil ListerWatcher", controlloop.ErrInvalid)
	}
	if sink == nil {
		return nil, fmt.Errorf("reflector: %w: nil Store", controlloop.ErrInvalid)
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	return &Reflector[T]{lw: lw, sink: sink, opts: opts, log: opts.Logger}, nil
}

// LastSyncResourceVersion returns the version of the last change applied to
// the store (or of the last list, or the last bookmark): the version the
// next watch starts from. It is empty before the first list completes.
func (r *Reflector[T]) LastSyncResourceVersion() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastRV
}

func (r *Reflector[T]) setLastRV(rv string) {
	r.mu.Lock()
	r.lastRV = rv
	r.mu.Unlock()
}

// Run lists and watches until ctx is done, and returns once it has stopped
// every call it made: a cancelled ctx ends a backoff wait, a list or a
// watch promptly. Run starts no goroutine of its own; the store is called
// from the goroutine that calls Run.
//
// Run relies on the source's contract that a watch's channel closes once
// the watch's context is cancelled: it drains the channel before returning.
//
// Run may be called again after it returned; it starts over with a list. A
// call while another is running logs an error and returns at once.
func (r *Reflector[T]) Run(ctx context.Context) {
	if !r.running.CompareAndSwap(false, true) {
		r.log.Error("reflector: Run called while already running")
		return
	}
	defer r.running.Store(false)
	r.log.Debug("reflector starting", "selector", r.opts.Selector)
	defer r.log.Debug("reflector stopped")

	var resync <-chan time.Time
	if r.opts.ResyncPeriod > 0 {
		t := time.NewTicker(r.opts.ResyncPeriod)
		defer t.Stop()
		resync = t.C
	}
	b := &backoff{
		initial: r.opts.InitialBackoff,
		max:     r.opts.MaxBackoff,
		reset:   r.opts.BackoffReset,
		jitter:  r.opts.Jitter,
	}
	needList := true
	for ctx.Err() == nil {
		var err error
		if needList {
			if err = r.listAndReplace(ctx); err == nil {
				needList = false
			}
		}
		if err == nil {
			var relist bool
			relist, err = r.watch(ctx, resync)
			needList = relist
			if err == nil {
				continue // the watch ended cleanly: watch again at once
			}
		}
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, controlloop.ErrExpired) {
			needList = true
		}
		r.report(err, needList)
		d := b.delay(time.Now())
		r.log.Debug("reflector backing off", "delay", d)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// report logs err and hands it to the watch error handler.
func (r *Reflector[T]) report(err error, relist bool) {
	switch {
	case errors.Is(err, controlloop.ErrExpired):
		r.log.Info("reflector: resource version expired, listing again", "resourceVersion", r.LastSyncResourceVersion(), "err", err)
	case errors.Is(err, ErrShortWatch):
		r.log.Debug("reflector: watch ended at once, backing off", "resourceVersion", r.LastSyncResourceVersion())
	default:
		r.log.Warn("reflector: list or watch failed", "resourceVersion", r.LastSyncResourceVersion(), "relist", relist, "err", err)
	}
	if h := r.opts.WatchErrorHandler; h != nil {
		h(err)
	}
}
