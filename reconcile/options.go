package reconcile

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/workqueue"
)

// Options configure a [Controller].
type Options[R comparable] struct {
	// Name identifies the controller in logs and metrics. Required.
	Name string
	// Workers is how many reconciles may run at once (never two for one
	// request). Defaults to 1.
	Workers int
	// Timeout, if positive, bounds each reconcile: its context is cancelled
	// after this long. Defaults to 0: no bound.
	Timeout time.Duration
	// LetPanicsCrash, if true, lets a panicking reconciler crash the
	// program. Defaults to false: the panic is recovered, logged and
	// counted as an error, and the request is retried.
	LetPanicsCrash bool
	// RateLimiter spaces the retries of failed requests. Defaults to
	// [workqueue.DefaultControllerRateLimiter].
	RateLimiter workqueue.RateLimiter[R]
	// LowPriority is the priority at which event sources enqueue
	// initial-list and resync events, so that real changes go first.
	// Defaults to -100; events that report changes use 0.
	LowPriority *int
	// SyncPeriod is how often every object in the caches the controller
	// watches is delivered to it again, as a resync (mapped, and enqueued
	// at LowPriority): the safety net that makes a missed event cost
	// work, not correctness (see the package doc, "Level-triggered"). Each
	// [Watch] draws its own period, uniformly from 90% to 100% of
	// SyncPeriod, so that bindings do not resync together. Defaults to 10
	// hours; set it to [NoSync] to turn periodic syncs off.
	SyncPeriod time.Duration
	// CacheSyncTimeout bounds how long Run waits for the caches of the
	// controller's event sources to sync. Defaults to 2 minutes.
	CacheSyncTimeout time.Duration
	// HandlerSyncTimeout bounds how long Run waits, once the caches have
	// synced, for their initial lists to be delivered to the controller's
	// bindings (see [Controller.Bindings] for the progress): a slow
	// handler's deadline, apart from the list's. Defaults to 2 minutes.
	HandlerSyncTimeout time.Duration
	// ShutdownGracePeriod is how long Run, once its context ends, lets
	// in-flight reconciles finish before it cancels their contexts; a
	// cancelled reconcile then has min(ShutdownGracePeriod, 1s) to return
	// (see [Controller.Run]). Defaults to 30 seconds.
	ShutdownGracePeriod time.Duration
	// LeaderElector, if set, is this controller's own election: it
	// reconciles only while it leads there. An elector is one candidate,
	// so it must not be shared with another controller or a [Manager]:
	// Run then fails with [ErrElectorInUse]. Defaults to nil: the election
	// of the Manager that runs the controller (Manager.LeaderElector), and
	// leading at once ([AlwaysLeader]) if there is none.
	LeaderElector LeaderElector
	// Admitter, if set, shares the requests among replicas (package
	// shard's Member is one): event sources enqueue only the requests it
	// admits, and a worker reconciles a request only if its Begin lets it,
	// under the context Begin returns. Defaults to nil: every request.
	Admitter Admitter[R]
	// StaleCacheTimeout bounds how long a request is put off because a
	// cache the controller reads has not yet applied a write that the
	// request's own reconcile made through a [TrackWrites] client (see the
	// package doc, "Read your own writes"): after it, the request is
	// reconciled anyway, and that is logged and counted. Defaults to 10
	// seconds; set it to [NoStaleCacheGating] to turn the gating off.
	StaleCacheTimeout time.Duration
	// Metrics receives the controller's and its queue's metrics. Defaults
	// to nil: none.
	Metrics MetricsProvider
	// Logger receives the controller's logs. Defaults to slog.Default().
	Logger *slog.Logger
	// Introspect, if true, makes the controller keep why each queued
	// request was enqueued ([Reason]; in the reconcile's [Logger] and
	// [ReasonOf]), the last reconcile of each request ([Controller.KeyStates])
	// and a count of reconciles by reason (if Metrics implements
	// [ReasonMetrics]), and its queue record times for snapshots. The
	// package doc, "Introspection", gives the cost. Defaults to false.
	Introspect bool
	// KeyStates bounds the requests whose last reconcile an introspecting
	// controller remembers; the least recently reconciled is dropped
	// first. Defaults to [DefaultKeyStates] (10,000).
	KeyStates int
	// Tracer, if set, receives a span for every reconcile (see [Tracer]);
	// it makes the controller keep reasons, as Introspect does, for the
	// spans. Defaults to nil: no spans.
	Tracer Tracer
}

const defaultLowPriority = -100

// NoSync, as Options.SyncPeriod, turns the periodic sync off.
const NoSync time.Duration = -1

// NoStaleCacheGating, as Options.StaleCacheTimeout, turns the stale-cache
// gating off: a request is reconciled whatever the caches have applied.
const NoStaleCacheGating time.Duration = -1

// validate reports every invalid field of o, each as an error wrapping
// [controlloop.ErrInvalid] that names the field and the rule.
func (o *Options[R]) validate() error {
	var errs []error
	bad := func(field string, value any, rule string) {
		errs = append(errs, fmt.Errorf("reconcile: Options.%s is %v: %s: %w", field, value, rule, controlloop.ErrInvalid))
	}
	if o.Name == "" {
		bad("Name", `""`, "required")
	}
	if o.Workers < 0 {
		bad("Workers", o.Workers, "must not be negative")
	}
	for _, d := range []struct {
		field string
		v     time.Duration
	}{{"Timeout", o.Timeout}, {"CacheSyncTimeout", o.CacheSyncTimeout}, {"HandlerSyncTimeout", o.HandlerSyncTimeout}, {"ShutdownGracePeriod", o.ShutdownGracePeriod}} {
		if d.v < 0 {
			bad(d.field, d.v, "must not be negative")
		}
	}
	if o.KeyStates < 0 {
		bad("KeyStates", o.KeyStates, "must not be negative")
	}
	if o.SyncPeriod < 0 && o.SyncPeriod != NoSync {
		bad("SyncPeriod", o.SyncPeriod, "must be positive, zero (the default) or NoSync")
	}
	if o.StaleCacheTimeout < 0 && o.StaleCacheTimeout != NoStaleCacheGating {
		bad("StaleCacheTimeout", o.StaleCacheTimeout, "must be positive, zero (the default) or NoStaleCacheGating")
	}
	for _, f := range []struct {
		field string
		v     any
	}{{"RateLimiter", o.RateLimiter}, {"LeaderElector", o.LeaderElector}, {"Admitter", o.Admitter}, {"Metrics", o.Metrics}, {"Tracer", o.Tracer}} {
		if isNilPointer(f.v) {
			bad(f.field, fmt.Sprintf("a nil %T", f.v), "set it to a usable value or leave it nil")
		}
	}
	return errors.Join(errs...)
}

// isNilPointer reports whether v holds a nil pointer or function: a
// non-nil interface that would panic when called.
func isNilPointer(v any) bool {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Func:
		return rv.IsNil()
	}
	return false
}

func (o *Options[R]) setDefaults() {
	if o.Workers == 0 {
		o.Workers = 1
	}
	if o.RateLimiter == nil {
		o.RateLimiter = workqueue.DefaultControllerRateLimiter[R]()
	}
	if o.LowPriority == nil {
		p := defaultLowPriority
		o.LowPriority = &p
	}
	if o.SyncPeriod == 0 {
		o.SyncPeriod = 10 * time.Hour
	}
	if o.StaleCacheTimeout == 0 {
		o.StaleCacheTimeout = 10 * time.Second
	}
	if o.CacheSyncTimeout == 0 {
		o.CacheSyncTimeout = 2 * time.Minute
	}
	if o.HandlerSyncTimeout == 0 {
		o.HandlerSyncTimeout = 2 * time.Minute
	}
	if o.KeyStates == 0 {
		o.KeyStates = DefaultKeyStates
	}
	if o.ShutdownGracePeriod == 0 {
		o.ShutdownGracePeriod = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}
