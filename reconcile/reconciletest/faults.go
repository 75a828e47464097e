package reconciletest

import (
	"context"
	"fmt"
	"testing/synctest"
	"time"

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

// errFault is the error the storage faults inject.
var errFault = fmt.Errorf("%w: store failure", ErrInjected)

// fault is one step a schedule can draw: apply draws its details and
// applies it, and returns them for the report.
type fault struct {
	name  string
	apply func(t *rapid.T) string
}

// faults returns the faults of s that set allows.
func (s *Store[T]) faults(set Faults) []fault {
	n := rapid.IntRange(1, 3)
	ms := func(t *rapid.T, label string, most int) time.Duration {
		return time.Duration(rapid.IntRange(1, most).Draw(t, label)) * time.Millisecond
	}
	all := []struct {
		f     Faults
		name  string
		apply func(t *rapid.T) string
	}{
		{BreakWatches, "breakWatches", func(*rapid.T) string { s.BreakWatches(); return "" }},
		{FailWatches, "failWatches", func(*rapid.T) string { s.FailWatches(nil); return "" }},
		{ExpireHistory, "expireHistory", func(*rapid.T) string { s.ExpireHistory(); return "" }},
		{Compact, "compact", func(*rapid.T) string {
			v := s.ResourceVersion()
			_ = s.Store.Compact(v)
			return "to v" + v
		}},
		{FailList, "failList", func(*rapid.T) string { s.FailNextList(errFault); return "" }},
		{FailWatch, "failWatch", func(*rapid.T) string { s.FailNextWatch(errFault); return "" }},
		{Outage, "outage", func(t *rapid.T) string { d := ms(t, "outage ms", 5000); s.Outage(d); return d.String() }},
		{Conflicts, "conflicts", func(t *rapid.T) string { k := n.Draw(t, "conflicts"); s.ConflictWrites(k); return fmt.Sprint(k) }},
		{WriteErrors, "writeErrors", func(t *rapid.T) string { k := n.Draw(t, "write errors"); s.FailWrites(k); return fmt.Sprint(k) }},
		{LostReplies, "lostReplies", func(t *rapid.T) string { k := n.Draw(t, "lost replies"); s.LoseReplies(k); return fmt.Sprint(k) }},
		{DelayEvents, "delayEvents", func(t *rapid.T) string { d := ms(t, "delay ms", 2000); s.DelayEvents(d); return d.String() }},
		{DuplicateEvents, "duplicateEvents", func(t *rapid.T) string { k := n.Draw(t, "duplicates"); s.DuplicateEvents(k); return fmt.Sprint(k) }},
	}
	var out []fault
	for _, f := range all {
		if set&f.f != 0 {
			out = append(out, fault{name: s.name + "." + f.name, apply: f.apply})
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
// its first failure, with when it happened.
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
			w.violation = fmt.Errorf("%s: %w", when, err)
		}
		w.mu.Unlock()
	}
}
