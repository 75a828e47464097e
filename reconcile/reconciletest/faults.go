package reconciletest

import (
	"context"
	"fmt"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"pgregory.net/rapid"
)

// Faults is a set of the faults a fault schedule draws from (see
// [Property]). Each names a fault of one store (or of the election) that
// a step applies.
type Faults uint32

// The faults.
const (
	// BreakWatches closes every watch of a store (memstore's BreakWatches).
	BreakWatches Faults = 1 << iota
	// FailWatches ends every watch of a store with an expiry error: its
	// readers list again (FailWatches).
	FailWatches
	// ExpireHistory drops a store's whole history (ExpireHistory).
	ExpireHistory
	// Compact compacts a store up to its current version (Compact).
	Compact
	// FailList makes a store's next List fail (FailNextList).
	FailList
	// FailWatch makes a store's next Watch call fail (FailNextWatch).
	FailWatch
	// Outage makes a store unavailable to its readers for up to 5s
	// ([Store.Outage]).
	Outage
	// Conflicts makes the next 1-3 updates through a store's Client
	// conflict ([Store.ConflictWrites]).
	Conflicts
	// WriteErrors makes the next 1-3 writes through a store's Client fail
	// ([Store.FailWrites]).
	WriteErrors
	// LostReplies makes the next 1-3 writes through a store's Client take
	// effect but report an error ([Store.LoseReplies]). A controller
	// that names what it creates afresh on each try (generated names)
	// cannot tell such a create from a failed one: leave it out for
	// those.
	LostReplies
	// DelayEvents holds a store's watch events for up to 2s
	// ([Store.DelayEvents]): caches fall behind.
	DelayEvents
	// DuplicateEvents delivers the next 1-3 watch events of a store twice
	// ([Store.DuplicateEvents]).
	DuplicateEvents
	// LeadershipChanges takes leadership from the candidate that leads
	// for up to 5s ([World.LoseLeadership]); drawn only in a World that
	// has handed out an [World.Elector].
	LeadershipChanges

	// AllFaults is every fault.
	AllFaults = LeadershipChanges<<1 - 1
	// DefaultFaults is every fault but LostReplies: what a [Property]
	// with no Faults draws.
	DefaultFaults = AllFaults &^ LostReplies
	// NoFaults, as Property.Faults, draws no fault at all.
	NoFaults Faults = 1 << 31
)

// errFaultSet says what makes a Property's Faults invalid.
var errFaultSet = fmt.Errorf("a set of faults beyond AllFaults, or NoFaults with others: %w", controlloop.ErrInvalid)

// errFault is the error the storage faults inject.
var errFault = fmt.Errorf("%w: store failure", ErrInjected)

// A draw draws a step's details from t and returns them, spelt for the
// report, with what does the step.
type draw func(t *rapid.T) (detail string, do func())

// fault is one fault a schedule can draw.
type fault struct {
	name string
	draw draw
}

// atOnce is a step without details.
func atOnce(do func()) draw {
	return func(*rapid.T) (string, func()) { return "", do }
}

// faults returns the faults of s that set allows.
func (s *Store[T]) faults(set Faults) []fault {
	count := func(label string, f func(int)) draw {
		return func(t *rapid.T) (string, func()) {
			n := rapid.IntRange(1, 3).Draw(t, label)
			return fmt.Sprint(n), func() { f(n) }
		}
	}
	upTo := func(label string, most time.Duration, f func(time.Duration)) draw {
		return func(t *rapid.T) (string, func()) {
			d := time.Duration(rapid.IntRange(1, int(most/time.Millisecond)).Draw(t, label)) * time.Millisecond
			return d.String(), func() { f(d) }
		}
	}
	all := []struct {
		f    Faults
		name string
		draw draw
	}{
		{BreakWatches, "breakWatches", atOnce(s.BreakWatches)},
		{FailWatches, "failWatches", atOnce(func() { s.FailWatches(nil) })},
		{ExpireHistory, "expireHistory", atOnce(s.ExpireHistory)},
		{Compact, "compact", atOnce(func() { _ = s.Store.Compact(s.ResourceVersion()) })},
		{FailList, "failList", atOnce(func() { s.FailNextList(errFault) })},
		{FailWatch, "failWatch", atOnce(func() { s.FailNextWatch(errFault) })},
		{Outage, "outage", upTo("outage ms", 5*time.Second, s.Outage)},
		{Conflicts, "conflicts", count("conflicts", s.ConflictWrites)},
		{WriteErrors, "writeErrors", count("write errors", s.FailWrites)},
		{LostReplies, "lostReplies", count("lost replies", s.LoseReplies)},
		{DelayEvents, "delayEvents", upTo("delay ms", 2*time.Second, s.DelayEvents)},
		{DuplicateEvents, "duplicateEvents", count("duplicates", s.DuplicateEvents)},
	}
	var out []fault
	for _, f := range all {
		if set&f.f != 0 {
			out = append(out, fault{name: s.name + "." + f.name, draw: f.draw})
		}
	}
	return out
}

// LoseLeadership takes leadership from the candidate that leads (see
// [World.Elector]) and keeps it from every candidate for d: the
// controllers of the Manager that led stop, their reconciles in flight
// are cancelled, and after d the candidates lead again, in the order they
// campaigned. d <= 0 only hands leadership on. A World without
// candidates ignores it.
func (w *World) LoseLeadership(d time.Duration) {
	w.mu.Lock()
	if len(w.candidates) == 0 {
		w.mu.Unlock()
		return
	}
	if w.gap != nil {
		w.gap()
		w.gap = nil
	}
	var ctx context.Context
	if d > 0 {
		ctx, w.gap = context.WithTimeout(context.Background(), d)
	}
	w.mu.Unlock()
	if ctx != nil {
		go func() {
			if leadCtx, err := w.other.Lead(ctx); err == nil {
				<-leadCtx.Done()
			}
		}()
		synctest.Wait() // the kit's candidate queues before the deposed one campaigns again
	}
	if w.election.Leader() != otherName {
		w.election.Depose()
	}
	w.trace.add("fault: leadership lost for %v", d)
}

// otherName is the name of the kit's own candidate.
const otherName = "reconciletest"

// Heal ends every fault in force: those of every store ([Store.Heal]) and
// a leadership gap. Faults the memstore applies at once (broken watches,
// expired history) are over already.
func (w *World) Heal() {
	w.mu.Lock()
	stores := w.stores
	if w.gap != nil {
		w.gap()
		w.gap = nil
	}
	w.mu.Unlock()
	for _, s := range stores {
		s.heal()
	}
}

// checkAlways runs the World's Always invariant, if one is set, and keeps
// its first failure; when says when it ran, for the trace.
func (w *World) checkAlways(when string) {
	w.mu.Lock()
	always, seen := w.always, w.violation != nil
	w.mu.Unlock()
	if always == nil || seen {
		return
	}
	if err := always(); err != nil {
		w.trace.add("invariant failed %s: %v", when, err)
		w.mu.Lock()
		if w.violation == nil {
			w.violation = err
		}
		w.mu.Unlock()
	}
}
