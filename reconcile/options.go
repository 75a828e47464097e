package reconcile

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

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
	// CacheSyncTimeout bounds how long Run waits for the caches of the
	// controller's event sources to sync. Defaults to 2 minutes.
	CacheSyncTimeout time.Duration
	// ShutdownGracePeriod is how long Run, once its context ends, lets
	// in-flight reconciles finish before it cancels their contexts.
	// Defaults to 30 seconds.
	ShutdownGracePeriod time.Duration
	// LeaderElector decides when this replica may reconcile. Defaults to
	// [AlwaysLeader].
	LeaderElector LeaderElector
	// Metrics receives the controller's and its queue's metrics. Defaults
	// to nil: none.
	Metrics MetricsProvider
	// Logger receives the controller's logs. Defaults to slog.Default().
	Logger *slog.Logger
}

const defaultLowPriority = -100

func (o *Options[R]) validate() error {
	var errs []error
	if o.Name == "" {
		errs = append(errs, fmt.Errorf("%T.Name is empty", *o))
	}
	if o.Workers < 0 {
		errs = append(errs, fmt.Errorf("%T.Workers is negative (%d)", *o, o.Workers))
	}
	if o.Timeout < 0 || o.CacheSyncTimeout < 0 || o.ShutdownGracePeriod < 0 {
		errs = append(errs, fmt.Errorf("%T: Timeout, CacheSyncTimeout and ShutdownGracePeriod must not be negative", *o))
	}
	return errors.Join(errs...)
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
	if o.CacheSyncTimeout == 0 {
		o.CacheSyncTimeout = 2 * time.Minute
	}
	if o.ShutdownGracePeriod == 0 {
		o.ShutdownGracePeriod = 30 * time.Second
	}
	if o.LeaderElector == nil {
		o.LeaderElector = AlwaysLeader
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}
