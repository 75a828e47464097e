package workqueue

import (
	"cmp"
	"slices"
	"time"
)

// ItemState is where an item is in a [Queue].
type ItemState uint8

// The states of an item.
const (
	// Queued: ready, waiting for a worker to Get it.
	Queued ItemState = iota + 1
	// Waiting: delayed (AddAfter, a rate-limited add) until its ReadyAt.
	Waiting
	// Processing: handed out by Get and not yet Done.
	Processing
)

// String returns "queued", "waiting" or "processing".
func (s ItemState) String() string {
	switch s {
	case Queued:
		return "queued"
	case Waiting:
		return "waiting"
	case Processing:
		return "processing"
	}
	return "unknown"
}

// ItemInfo describes one item of a [Queue], as [Queue.Snapshot] found it.
type ItemInfo[T comparable] struct {
	Item  T
	State ItemState
	// Priority is the item's priority: the level it is queued at, or the
	// one it will be queued at when its delay ends or it is Done.
	Priority int
	// ReadyAt is when a Waiting item is due, and when a Processing item
	// added again meanwhile (Requeued) is due after it is Done (zero: at
	// once). Zero for Queued items, and for a delay too long for the
	// clock (a limiter's rate.InfDuration): due never.
	ReadyAt time.Time
	// Since is when a Queued item became ready, or a Processing item was
	// handed out. Zero for Waiting items, and unless the queue records
	// times (Options.Metrics or Options.Timestamps).
	Since time.Time
	// Requeued: the item is Processing and was added again meanwhile, so
	// that Done queues it again.
	Requeued bool
	// Requeues is the rate limiter's count of the item's retries
	// ([Queue.NumRequeues]), read just after the snapshot.
	Requeues int
}

// Snapshot returns every item the queue holds, in one consistent view:
// the Queued items in the order Get would hand them out, then the Waiting
// ones by ready time (those never due, with a delay beyond the clock's
// range, last), then the Processing ones: by hand-out time if the queue
// records times (Options.Timestamps or Metrics), else in no particular
// order.
//
// It holds the queue's lock once, to copy each item's record into a slice
// allocated beforehand: O(n) for n items, with no allocation under the
// lock unless the queue grew meanwhile. The sorting and the rate limiter's
// counts come after the lock is released, so Requeues may be a moment
// newer than the rest.
func (q *Queue[T]) Snapshot() []ItemInfo[T] {
	q.init()
	q.mu.Lock()
	n := q.entries.n
	q.mu.Unlock()
	infos := make([]ItemInfo[T], 0, n)

	q.mu.Lock()
	at := func(i instant) time.Time {
		if i == 0 || i == maxInstant {
			return time.Time{}
		}
		return q.epoch.Add(i)
	}
	since := func(e *entry[T]) time.Time {
		if !q.timed {
			return time.Time{}
		}
		return q.epoch.Add(e.since)
	}
	for _, l := range q.levels {
		l.each(func(e *entry[T]) {
			infos = append(infos, ItemInfo[T]{Item: e.item, State: Queued, Priority: e.priority, Since: since(e)})
		})
	}
	queued := len(infos)
	for _, s := range q.entries.slots {
		switch e := s.e; {
		case e == nil:
		case e.state == stateWaiting:
			infos = append(infos, ItemInfo[T]{Item: e.item, State: Waiting, Priority: e.priority, ReadyAt: at(e.readyAt)})
		case e.state == stateProcessing:
			infos = append(infos, ItemInfo[T]{Item: e.item, State: Processing, Priority: e.priority, ReadyAt: at(e.readyAt), Since: since(e), Requeued: e.dirty})
		}
	}
	q.mu.Unlock()

	rest := infos[queued:]
	slices.SortStableFunc(rest, func(a, b ItemInfo[T]) int {
		if a.State != b.State {
			return cmp.Compare(a.State, b.State)
		}
		if a.State == Waiting {
			if a.ReadyAt.IsZero() != b.ReadyAt.IsZero() { // never due: last
				if a.ReadyAt.IsZero() {
					return 1
				}
				return -1
			}
			return a.ReadyAt.Compare(b.ReadyAt)
		}
		return a.Since.Compare(b.Since)
	})
	for i := range infos {
		infos[i].Requeues = q.limiter.NumRequeues(infos[i].Item)
	}
	return infos
}

// maxInstant is the instant of a delay too long for the clock (see later).
const maxInstant instant = 1<<63 - 1

// each calls f with the level's live entries, first to last.
func (l *level[T]) each(f func(*entry[T])) {
	for i := range l.n {
		if s := l.buf[(l.head+i)&(len(l.buf)-1)]; s.isLive() {
			f(s.e)
		}
	}
}

// lockedOldestReady returns when the item ready longest became ready;
// ok is false if none is ready or the queue records no times. It costs
// O(ready): an item moved to a higher priority keeps its time but goes to
// the back of its new level, so a level's first item need not be its
// oldest.
func (q *Queue[T]) lockedOldestReady() (since instant, ok bool) {
	if !q.timed || q.ready == 0 {
		return 0, false
	}
	for _, l := range q.levels {
		l.each(func(e *entry[T]) {
			if !ok || e.since < since {
				since, ok = e.since, true
			}
		})
	}
	return since, ok
}
