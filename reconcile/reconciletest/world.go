package reconciletest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop/reconcile"
)

// TB is what a [World] needs of its test: *testing.T and *rapid.T are
// both one.
type TB interface {
	Helper()
	Cleanup(func())
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// World is one deterministic test world: the stores a system under test
// reads and writes ([NewStore]), the Managers it runs ([World.Start]), the
// faults injected into it, and a trace of what happened.
//
// A World lives in a testing/synctest bubble: create it, and call its
// methods, from the bubble's goroutines. Time in it is virtual, so that a
// wait of an hour costs nothing. Its methods are safe for concurrent use.
// When the test ends (t.Cleanup), the World stops what it started.
type World struct {
	t     TB
	opts  Options
	start time.Time // virtual time when the World was made
	trace *trace
	log   *slog.Logger

	election reconcile.LocalElection
	other    reconcile.LeaderElector // the kit's own candidate: takes leadership away

	mu         sync.Mutex // protects the fields below
	stores     []store    // in the order they were made
	managers   []*running
	candidates map[reconcile.LeaderElector]string // handed out by Elector, with their names
	stopped    bool
	violation  error              // the first Always failure seen during a write
	always     func() error       // checked after every write through a Client
	gap        context.CancelFunc // ends the leadership gap in force, if any
}

// running is a Manager the World started.
type running struct {
	m      *reconcile.Manager
	stop   context.CancelFunc
	exited chan struct{} // closed when Run has returned, after err is set
	err    error         // what Run returned
}

// New returns an empty World for the test t, which must run in a
// testing/synctest bubble (synctest.Test, or rapid.SyncTest for a rapid
// property); t.Fatalf reports anything else, or invalid options (an error
// wrapping [controlloop.ErrInvalid]).
func New(t TB, opts Options) *World {
	t.Helper()
	if err := opts.validate(); err != nil {
		t.Fatalf("%v", err)
		return nil
	}
	if !inBubble() {
		t.Fatalf("reconciletest: New: not in a testing/synctest bubble: run the test in synctest.Test (or rapid.SyncTest)")
		return nil
	}
	opts.setDefaults()
	w := &World{t: t, opts: opts, start: time.Now()}
	w.trace = newTrace(opts.TraceLen, w.start)
	w.log = slog.New(newTraceHandler(w.trace))
	w.other = w.election.Candidate(otherName)
	t.Cleanup(func() {
		if err := w.Stop(); err != nil {
			t.Errorf("reconciletest: stopping the World: %v", err)
		}
	})
	return w
}

// inBubble reports whether the caller runs in a synctest bubble, where
// synctest.Wait does not panic.
func inBubble() (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	synctest.Wait()
	return true
}

// Logger returns a logger for the system under test: its warnings and
// errors go to the World's trace (so that a failure report shows them),
// the rest is dropped.
func (w *World) Logger() *slog.Logger { return w.log }

// Tracer returns a [reconcile.Tracer] that records every reconcile and
// every traced write in the World's trace: give it to the controllers
// (reconcile.Options.Tracer) so that a failure report shows what they did.
func (w *World) Tracer() reconcile.Tracer { return tracer{w.trace} }

// Elector returns a new candidate, named name, in the World's election:
// give it to a Manager (Manager.LeaderElector) to let a fault schedule
// take leadership away from it ([World.LoseLeadership]). Several Managers
// with one candidate each over the same stores are replicas of one
// program: one leads at a time, and [World.Steady] does not wait for the
// requests queued in the others, which stand by.
func (w *World) Elector(name string) reconcile.LeaderElector {
	c := w.election.Candidate(name)
	w.mu.Lock()
	if w.candidates == nil {
		w.candidates = map[reconcile.LeaderElector]string{}
	}
	w.candidates[c] = name
	w.mu.Unlock()
	return c
}

// Leader returns the name of the candidate that leads, "" if none does.
func (w *World) Leader() string { return w.election.Leader() }

// Start runs m in the background until the World stops. To know when the
// system is steady, the World looks at what m runs (Manager.Caches,
// Manager.Controllers): its informers (and those of its informer
// Factories) over one of the World's stores (through its [Client], or
// the store itself), and its *reconcile.Controllers (anything with a
// Pending method); it cannot see into other Runnables. Add everything to
// m before Start. Start may be called for several Managers: replicas of
// one program, or programs that share the stores.
func (w *World) Start(m *reconcile.Manager) {
	w.t.Helper()
	if m == nil {
		w.t.Fatalf("reconciletest: Start: nil Manager")
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{m: m, stop: cancel, exited: make(chan struct{})}
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		cancel()
		w.t.Fatalf("reconciletest: Start after Stop")
		return
	}
	w.managers = append(w.managers, r)
	w.mu.Unlock()
	go func() {
		r.err = m.Run(ctx)
		close(r.exited)
	}()
}

// Stop stops every Manager the World started, ends the faults in force,
// and returns the Managers' errors, joined. Stop is idempotent; the World
// calls it when its test ends.
func (w *World) Stop() error {
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return nil
	}
	w.stopped = true
	managers := w.managers
	w.mu.Unlock()
	w.Heal()
	var errs []error
	for _, r := range managers {
		r.stop()
	}
	for i, r := range managers {
		<-r.exited
		if r.err != nil {
			errs = append(errs, fmt.Errorf("reconciletest: manager %d: %w", i, r.err))
		}
	}
	return errors.Join(errs...)
}

// Trace returns the latest entries of the World's trace (up to
// Options.TraceLen), oldest first, one a line with its virtual time: the
// events the Clients' watches delivered, the writes through them, the
// faults, and, with [World.Tracer] and [World.Logger] given to the
// system, its reconciles and warnings. For a test's failure message.
func (w *World) Trace() string { return w.trace.String() }

// Since returns how much virtual time has passed since the World was made.
func (w *World) Since() time.Duration { return time.Since(w.start) }
