package reconciletest

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"pgregory.net/rapid"
)

// Property is a property of a system under test, checked by [Check] over
// random schedules: each schedule builds a fresh World and system with
// Setup, then takes random steps — the user's Actions, faults drawn from
// Faults, pauses of virtual time, and waits until steady — checking Always
// after every step (and after every write through a [Client]) and
// Invariant whenever the system is steady, and at the end.
type Property[S any] struct {
	// Options configure each schedule's World.
	Options Options
	// Setup builds the system under test in w: its stores ([NewStore]),
	// its Managers over the stores' Clients, started with [World.Start];
	// it returns what the other functions need to reach the system.
	// Required.
	Setup func(t *rapid.T, w *World) S
	// Actions are what users of the system do, by name: create, change
	// and delete objects (through the stores' embedded memstore, or
	// through the system's own API). A schedule draws its steps from
	// them and from the kit's own ("fault", "sleep" and "steady", names
	// an action must not take). An action may draw its details from t,
	// with labels, and call t.Skip, before it changes anything, when it
	// does not apply. Required: at least one.
	Actions map[string]func(t *rapid.T, s S)
	// Invariant, if set, must hold whenever the system is steady: at the
	// "steady" steps and at the end of each schedule, once the faults
	// have stopped (see [World.Steady]).
	Invariant func(s S) error
	// Always, if set, must hold after every step and after every write
	// the system makes through a Client. It is called from the writer's
	// goroutine, concurrently with the system: read the stores (their
	// embedded memstore), not what the system holds under its locks.
	Always func(s S) error
	// Faults is the set of faults the schedules draw from. Defaults to
	// [DefaultFaults]; [NoFaults] draws none. A set with bits beyond
	// [AllFaults], or NoFaults with any other fault, is invalid.
	Faults Faults
}

// Check checks p on random schedules, as rapid.Check does: each schedule
// runs in its own testing/synctest bubble (rapid.SyncTest), in virtual
// time. A schedule that breaks an invariant (or whose system does not get
// steady, or fails to stop) fails t, saying what failed, and logs a
// report: the steps drawn, the invariant's error, and the latest entries
// of the World's trace (events the watches delivered, writes, reconciles,
// faults, the library's warnings). An invalid p (no Setup, no Actions,
// an action named as a step of the kit, an invalid Faults set) fails t at
// once.
//
// The number of schedules is rapid's: -rapid.checks (100 by default), and
// their length -rapid.steps (30 by default). To replay a failed schedule,
// run the test again with the -rapid.seed or -rapid.failfile that rapid
// prints with the failure (add -rapid.v to see every draw).
func Check[S any](t *testing.T, p Property[S]) {
	t.Helper()
	if !p.valid(t) {
		return
	}
	var last lastFailure
	t.Cleanup(func() { last.logUnreplayed(t) })
	rapid.Check(t, func(rt *rapid.T) {
		rapid.SyncTest(rt, func(rt *rapid.T) { runSchedule(rt, p, &last) })
	})
}

// lastFailure is what a Check remembers of its schedules' failures.
type lastFailure struct {
	report string // of the latest schedule that failed
	failed bool   // the latest schedule run failed
}

// logUnreplayed logs the report of the latest failure if the schedule
// rapid ran last, to replay it, did not fail: rapid then says it cannot
// reproduce the failure, and shows no report of it.
func (l *lastFailure) logUnreplayed(tb interface {
	Failed() bool
	Logf(string, ...any)
}) {
	if tb.Failed() && !l.failed && l.report != "" {
		tb.Logf("reconciletest: rapid could not replay the failure (the system raced differently); the report of the latest schedule that failed:\n%s", l.report)
	}
}

// kitSteps are the names of the steps the kit adds to the user's.
var kitSteps = []string{"", "fault", "sleep", "steady"}

// valid reports whether p can be checked, failing tb if not.
func (p *Property[S]) valid(tb rapid.TB) bool {
	if p.Setup == nil || len(p.Actions) == 0 {
		tb.Fatalf("reconciletest: Check: Property.Setup and Property.Actions are required")
		return false
	}
	if p.Faults&^(AllFaults|NoFaults) != 0 || p.Faults&NoFaults != 0 && p.Faults != NoFaults {
		tb.Fatalf("reconciletest: Check: Property.Faults %#x: %v", uint32(p.Faults), errFaultSet)
		return false
	}
	for _, name := range kitSteps {
		if _, ok := p.Actions[name]; ok {
			tb.Fatalf("reconciletest: Check: Property.Actions has an action named %q: the kit's steps are named %q", name, kitSteps)
			return false
		}
	}
	return true
}

// schedule is one run of a property: the World and the steps taken.
type schedule[S any] struct {
	p     Property[S]
	w     *World
	sys   S
	steps []string
	last  *lastFailure
}

func runSchedule[S any](rt *rapid.T, p Property[S], last *lastFailure) {
	last.failed = false
	w := New(rt, p.Options)
	sc := &schedule[S]{p: p, w: w, last: last}
	sc.sys = p.Setup(rt, w)
	if p.Always != nil {
		w.mu.Lock()
		w.always = func() error { return p.Always(sc.sys) }
		w.mu.Unlock()
	}
	defer func() {
		if err := w.Stop(); err != nil && !rt.Failed() {
			sc.fail(rt, "stopping the system", err)
		}
	}()
	rt.Repeat(sc.actions(rt))
	if err := w.Steady(); err != nil {
		sc.fail(rt, "at the end of the schedule", err)
	}
	sc.checkInvariant(rt, "at the end of the schedule")
}

// actions returns the steps a schedule draws from, each wrapped to be
// recorded, followed by a synctest.Wait, and checked with Always.
func (sc *schedule[S]) actions(rt *rapid.T) map[string]func(*rapid.T) {
	set := sc.p.Faults
	if set == 0 {
		set = DefaultFaults
	}
	steps := map[string]func(*rapid.T){}
	for name, act := range sc.p.Actions {
		steps[name] = sc.step(name, func(t *rapid.T) (string, func()) {
			return "", func() { act(t, sc.sys) }
		})
	}
	var faults []fault
	sc.w.mu.Lock()
	stores, electors := sc.w.stores, len(sc.w.candidates)
	sc.w.mu.Unlock()
	for _, s := range stores {
		faults = append(faults, s.faults(set)...)
	}
	if set&LeadershipChanges != 0 && electors > 0 {
		faults = append(faults, fault{name: "loseLeadership", draw: func(t *rapid.T) (string, func()) {
			d := time.Duration(rapid.IntRange(0, 5000).Draw(t, "leaderless ms")) * time.Millisecond
			return d.String(), func() { sc.w.LoseLeadership(d) }
		}})
	}
	if len(faults) > 0 {
		// One step for all faults, so that they do not crowd out the
		// user's actions.
		byName := map[string]fault{}
		names := make([]string, len(faults))
		for i, f := range faults {
			byName[f.name], names[i] = f, f.name
		}
		pick := rapid.SampledFrom(names)
		steps["fault"] = func(t *rapid.T) {
			f := byName[pick.Draw(t, "fault")]
			sc.step("fault "+f.name, f.draw)(t)
		}
	}
	steps["sleep"] = sc.step("sleep", func(t *rapid.T) (string, func()) {
		d := time.Duration(rapid.IntRange(1, 2000).Draw(t, "sleep ms")) * time.Millisecond
		return d.String(), func() { time.Sleep(d) }
	})
	steps["steady"] = sc.step("steady", atOnce(func() {
		if err := sc.w.Steady(); err != nil {
			sc.fail(rt, "at a steady step", err)
		}
		sc.checkInvariant(rt, "at a steady step")
	}))
	steps[""] = func(t *rapid.T) { sc.checkAlways(t) }
	return steps
}

// step wraps a step: its details are drawn, it is recorded, it runs, and
// the bubble settles. A step that panics (an action that skips, or
// fails) is taken off the schedule again.
func (sc *schedule[S]) step(name string, draw draw) func(*rapid.T) {
	return func(t *rapid.T) {
		detail, do := draw(t)
		line := name
		if detail != "" {
			line += " " + detail
		}
		sc.steps = append(sc.steps, line)
		n := len(sc.steps)
		sc.w.trace.add("step %d: %s", n, line)
		defer func() {
			if p := recover(); p != nil {
				sc.steps = sc.steps[:n-1]
				sc.w.trace.add("step %d: skipped or failed", n)
				panic(p)
			}
		}()
		do()
		synctest.Wait()
	}
}

func (sc *schedule[S]) checkAlways(t *rapid.T) {
	sc.w.checkAlways(fmt.Sprintf("after step %d", len(sc.steps)))
	sc.w.mu.Lock()
	err := sc.w.violation
	sc.w.mu.Unlock()
	if err != nil {
		sc.fail(t, "Always", err)
	}
}

func (sc *schedule[S]) checkInvariant(t *rapid.T, when string) {
	sc.checkAlways(t)
	if sc.p.Invariant == nil {
		return
	}
	if err := sc.p.Invariant(sc.sys); err != nil {
		sc.fail(t, "Invariant "+when, err)
	}
}

// fail fails the schedule: it logs the report (rapid shows the log of the
// schedule it replays last, shrunk), then fails with a message that says
// only what failed. rapid takes two failures for one only if their
// messages are equal, and the invariant's error, like the trace, can
// differ between two runs of a schedule (versions, UIDs, names) when
// goroutines interleave differently: in the message, it would stop rapid
// from shrinking the schedule and replaying it.
func (sc *schedule[S]) fail(t *rapid.T, what string, err error) {
	report := fmt.Sprintf("reconciletest: %s failed after %d steps, at %v of virtual time: %v\n%s", what, len(sc.steps), sc.w.Since(), err, sc.report())
	sc.last.report, sc.last.failed = report, true
	t.Logf("%s", report)
	t.Fatalf("reconciletest: %s failed (the report is in the test's output)", what)
}

// report spells the schedule's steps and the World's trace.
func (sc *schedule[S]) report() string {
	var b strings.Builder
	fmt.Fprintf(&b, "schedule (the steps drawn):\n")
	for i, s := range sc.steps {
		fmt.Fprintf(&b, "  %3d. %s\n", i+1, s)
	}
	fmt.Fprintf(&b, "trace (virtual time since the start; the latest %d entries):\n%s", sc.w.opts.TraceLen, sc.w.trace)
	fmt.Fprintf(&b, "replay: run the test again with the -rapid.seed or -rapid.failfile that rapid prints with the failure (add -rapid.v to see every draw)\n")
	return b.String()
}
