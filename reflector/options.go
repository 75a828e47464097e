package reflector

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/controlloop/controlloop"
)

// Options configure a [Reflector]. The zero Options is valid: every field
// has a default.
type Options struct {
	// Selector chooses the objects to list and watch. Defaults to the zero
	// Selector: everything.
	Selector controlloop.Selector
	// PageSize is the number of objects asked for per List call. Defaults to
	// 500; a negative value lists everything in one call.
	PageSize int
	// ResyncPeriod is how often, while watching, the store's Resync is
	// called so that it re-delivers what it holds. Defaults to 0: never.
	ResyncPeriod time.Duration

	// InitialBackoff is the delay before the first retry after a failed
	// list or watch. Each further failure doubles it, up to MaxBackoff.
	// Defaults to 800ms, or MaxBackoff if that is smaller.
	InitialBackoff time.Duration
	// MaxBackoff caps the doubled delay (before jitter). Defaults to 30s, or
	// InitialBackoff if that is larger.
	MaxBackoff time.Duration
	// BackoffReset is how long the reflector must go without a failure for
	// the delay to start again from InitialBackoff; a watch that stays open
	// this long after a failure also counts as recovered in [Health].
	// Defaults to 2m.
	BackoffReset time.Duration
	// Jitter spreads retries out: each delay d is lengthened by a random
	// amount in [0, Jitter×d). Defaults to 1.0 (delays in [d, 2d)); a
	// negative value disables jitter.
	Jitter float64

	// WatchErrorHandler, if not nil, is called with every error that ends a
	// list or a watch, before the reflector backs off and retries; each
	// wraps [ErrList], [ErrWatch] or [ErrStore]. It runs
	// on the reflector's goroutine: it must not block for long. Errors caused
	// by the end of Run's context are not reported. Defaults to nil: errors
	// are only logged.
	WatchErrorHandler func(error)
	// Logger receives the reflector's logs: failures at Warn, relists at
	// Info, routine watch restarts at Debug. Defaults to [slog.Default], so
	// that failures are visible without configuration.
	Logger *slog.Logger
}

const (
	defaultPageSize       = 500
	defaultInitialBackoff = 800 * time.Millisecond
	defaultMaxBackoff     = 30 * time.Second
	defaultBackoffReset   = 2 * time.Minute
	defaultJitter         = 1.0
)

// validate reports the first field of o that breaks its rule.
func (o Options) validate() error {
	switch {
	case o.ResyncPeriod < 0:
		return errOption("ResyncPeriod", o.ResyncPeriod, "must not be negative")
	case o.InitialBackoff < 0:
		return errOption("InitialBackoff", o.InitialBackoff, "must not be negative")
	case o.MaxBackoff < 0:
		return errOption("MaxBackoff", o.MaxBackoff, "must not be negative")
	case o.BackoffReset < 0:
		return errOption("BackoffReset", o.BackoffReset, "must not be negative")
	case o.InitialBackoff > 0 && o.MaxBackoff > 0 && o.InitialBackoff > o.MaxBackoff:
		return errOption("InitialBackoff", o.InitialBackoff, fmt.Sprintf("must not exceed MaxBackoff (%v)", o.MaxBackoff))
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.PageSize == 0 {
		o.PageSize = defaultPageSize
	}
	if o.InitialBackoff == 0 {
		o.InitialBackoff = defaultInitialBackoff
		if o.MaxBackoff > 0 {
			o.InitialBackoff = min(o.InitialBackoff, o.MaxBackoff)
		}
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = max(defaultMaxBackoff, o.InitialBackoff)
	}
	if o.BackoffReset == 0 {
		o.BackoffReset = defaultBackoffReset
	}
	switch {
	case o.Jitter == 0:
		o.Jitter = defaultJitter
	case o.Jitter < 0:
		o.Jitter = 0
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}
