package reconciletest

import (
	"fmt"
	"time"

	"github.com/controlloop/controlloop"
)

// Options configure a [World]. The zero Options is valid.
type Options struct {
	// SteadyTimeout bounds, in virtual time, how long [World.Steady]
	// waits for the system to get steady before it fails with
	// [ErrNotSteady]. It costs nothing in real time, only the work the
	// system does meanwhile. Defaults to 10 minutes: well past the
	// library's longest default backoff of a source (a reflector's, 30s).
	SteadyTimeout time.Duration
	// TraceLen is how many of the latest trace entries (events, reconciles,
	// writes, faults) the World keeps for a failure report. Defaults to 200.
	TraceLen int
}

const (
	defaultSteadyTimeout = 10 * time.Minute
	defaultTraceLen      = 200
)

func (o *Options) validate() error {
	switch {
	case o.SteadyTimeout < 0:
		return invalid("SteadyTimeout", o.SteadyTimeout, "must not be negative")
	case o.TraceLen < 0:
		return invalid("TraceLen", o.TraceLen, "must not be negative")
	}
	return nil
}

func (o *Options) setDefaults() {
	if o.SteadyTimeout == 0 {
		o.SteadyTimeout = defaultSteadyTimeout
	}
	if o.TraceLen == 0 {
		o.TraceLen = defaultTraceLen
	}
}

func invalid(field string, value any, rule string) error {
	return fmt.Errorf("reconciletest: Options.%s is %v: %s: %w", field, value, rule, controlloop.ErrInvalid)
}
