package reconciletest

import "errors"

// ErrNotSteady is wrapped by the error [World.Steady] returns when the
// system did not get steady within Options.SteadyTimeout of virtual time.
// The error names what kept it busy: the requests still queued, waiting or
// being reconciled, and the caches behind their stores.
var ErrNotSteady = errors.New("reconciletest: the system did not get steady")

// ErrInjected is wrapped by every error the kit injects into a write or a
// watch: a test can tell an injected failure from a real one with
// errors.Is.
var ErrInjected = errors.New("reconciletest: injected fault")
