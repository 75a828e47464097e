package reflector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/controlloop/controlloop"
)

// Reflector keeps a [Store] in step with a source: it lists, replaces the
// store's contents, then watches from the listed version and applies each
// change in order. See the package documentation for how it recovers.
//
// A Reflector must be created with [New]; Run on a zero Reflector returns an
// error. Run drives it, once; the other methods are safe for concurrent use
// with Run.
type Reflector[T controlloop.Object] struct {
	lw   controlloop.ListerWatcher[T]
	sink Store[T]
	// progress is sink, if it is a ProgressStore.
	progress ProgressStore[T]
	opts     Options
	log      *slog.Logger

	started atomic.Bool // Run was called

	mu     sync.Mutex // protects lastRV and health
	lastRV string
	health Health
}

// New returns a reflector that feeds sink from lw. It starts nothing: call
// [Reflector.Run]. It fails with an error wrapping [controlloop.ErrInvalid]
// if lw or sink is nil (or a nil pointer) or opts is invalid; the message
// names the field of opts and the rule it breaks.
func New[T controlloop.Object](lw controlloop.ListerWatcher[T], sink Store[T], opts Options) (*Reflector[T], error) {
	if isNil(lw) {
		return nil, fmt.Errorf("reflector: New: nil ListerWatcher: %w", controlloop.ErrInvalid)
	}
	if isNil(sink) {
		return nil, fmt.Errorf("reflector: New: nil Store: %w", controlloop.ErrInvalid)
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	r := &Reflector[T]{lw: lw, sink: sink, opts: opts, log: opts.Logger}
	r.progress, _ = sink.(ProgressStore[T])
	return r, nil
}

// LastSyncResourceVersion returns the version of the last change applied to
// the store (or of the last list, or the last bookmark): the version the
// next watch starts from. It is empty before the first list completes.
func (r *Reflector[T]) LastSyncResourceVersion() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastRV
}

// isNil reports whether v is nil or a nil pointer, on which a call would
// panic.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

// Run lists and watches until ctx ends. It retries every failure (see the
// package documentation), so none stops it: it returns nil once ctx has
// ended.
//
// Bound: after ctx ends, Run returns as soon as the call it is making
// returns: a List or Watch of the source (which must honour ctx), the drain
// of the watch's channel (which the source closes once the watch's context
// is cancelled, as its contract requires), or a call of the Store or the
// watch error handler. It waits for no backoff and no resync timer. Run
// starts no goroutine of its own; the store is called from the goroutine
// that calls Run.
//
// Run runs once. A second call, while the first runs or after it returned,
// returns at once an error wrapping [controlloop.ErrAlreadyStarted] and
// leaves the first alone: make a new Reflector to list and watch again. On a
// Reflector not made by [New], Run returns an error wrapping
// [controlloop.ErrInvalid].
func (r *Reflector[T]) Run(ctx context.Context) error {
	if r == nil || r.lw == nil {
		return fmt.Errorf("reflector: Run: Reflector not made by New: %w", controlloop.ErrInvalid)
	}
	if !r.started.CompareAndSwap(false, true) {
		return fmt.Errorf("reflector: Run: %w", controlloop.ErrAlreadyStarted)
	}
	r.run(ctx)
	return nil
}

// run is Run's loop: list, watch, recover, until ctx ends.
func (r *Reflector[T]) run(ctx context.Context) {
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
	// retryAtOnce: the round before this one succeeded (its watch ended
	// cleanly), so a failure now is retried at once, before any backoff.
	retryAtOnce := false
	for ctx.Err() == nil {
		var err error
		listed := false // this round's watch starts from a fresh list
		if needList {
			if err = r.listAndReplace(ctx); err == nil {
				needList, listed = false, true
			}
		}
		watched, applied := err == nil, false
		if watched {
			needList, applied, err = r.watch(ctx, resync)
			if err == nil {
				retryAtOnce = true
				continue // the watch ended cleanly: watch again at once
			}
		}
		if ctx.Err() != nil {
			return
		}
		r.report(err, needList)
		if watched && (applied || !listed) && errors.Is(err, controlloop.ErrExpired) {
			// The source answered: only the version is too old. List at
			// once rather than wait out a backoff grown by earlier
			// failures; a watch from a fresh list that expires before
			// applying anything backs off.
			continue
		}
		if watched && !needList && (retryAtOnce || listed || applied) {
			// A watch that fails after a success (a list, events, a clean
			// end) is watched again once at once: most such failures are
			// one dropped connection, and a backoff could outlast the
			// history that still holds the version. A source that is down
			// fails the retry too, which backs off. (A failure that needs
			// a list is not retried at once, or a source whose watches all
			// fail would be listed in a loop.)
			retryAtOnce = false
			continue
		}
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

// report records err in the reflector's health, logs it and hands it to
// the watch error handler.
func (r *Reflector[T]) report(err error, relist bool) {
	r.failed(err)
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
