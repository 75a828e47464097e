package deltafifo

import "github.com/controlloop/controlloop"

// Replace records a relist: a Sync delta (Replaced with
// Options.EmitReplaced) for each of items, then, for each key that the FIFO
// holds deltas for or KnownObjects holds but items lacks, a Deleted delta
// with FinalStateUnknown set, carrying the newest object known for the key.
// resourceVersion is not used.
//
// The first Replace (unless a write came first) defines the initial list
// that [FIFO.HasSynced] waits for; every later one is a relist, which
// [FIFO.PopBatch] reports. The error wraps [controlloop.ErrInvalid]
// for a nil item or an invalid key, or comes from Options.Transform, or is
// [ErrClosed]; nothing is queued then. Cost: O(len(items) + keys held +
// len(KnownObjects)), holding the FIFO's lock throughout.
func (f *FIFO[T]) Replace(items []T, resourceVersion string) error {
	if f.synced == nil { // not made by New
		return errNotNew("Replace")
	}
	list, err := f.prepareList(items)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return ErrClosed
	}
	r := f.lockedStartRelist(len(list))
	f.lockedQueueListed(r, list)
	f.slab, f.slabDeltas = nil, nil // the rest would pin the slab
	f.lockedTombstoneHeld(r)
	f.lockedTombstoneKnown(r)
	f.lockedCheckSynced()
	if !r.initial {
		f.relisted = true
		f.cond.Broadcast() // a PopBatch waits for this news too, even if nothing was queued
	}
	return nil
}

// prepareList validates and transforms the items of a Replace, returning
// items itself when there is no transform.
func (f *FIFO[T]) prepareList(items []T) ([]T, error) {
	list := items
	if f.transform != nil {
		list = make([]T, len(items))
	}
	for i, obj := range items {
		obj, _, err := f.prepare("Replace", obj)
		if err != nil {
			return nil, err
		}
		list[i] = obj
	}
	return list, nil
}

// relist is one Replace in progress: the slots it lists or tombstones get
// its generation, and, for the first Replace, count towards the initial
// list.
type relist struct {
	gen     uint32
	initial bool
	action  DeltaType // of the listed objects' deltas
}

// lockedStartRelist begins a Replace of n items. Into an empty FIFO (an
// initial list, typically), it sizes the map and allocates the slots and
// their first deltas in one slab each, not one by one: that saves two
// allocations per listed object (BenchmarkFIFOReplace, allocs/op).
func (f *FIFO[T]) lockedStartRelist(n int) relist {
	r := relist{initial: !f.populated, action: Sync}
	if f.emitReplaced {
		r.action = Replaced
	}
	f.populated = true
	if len(f.items) == 0 {
		f.items, f.sized = make(map[controlloop.Key]*slot[T], n), n > maxFree
		f.slab, f.slabDeltas = make([]slot[T], n), make([]Delta[T], n)
	}
	f.replaceGen++
	r.gen = f.replaceGen
	return r
}

// lockedMark records that relist r listed or tombstoned slot s.
func (f *FIFO[T]) lockedMark(r relist, s *slot[T]) {
	s.gen = r.gen
	if r.initial && !s.initial {
		s.initial = true
		f.initialLeft++
	}
}

// lockedQueueListed queues a delta for each listed object.
func (f *FIFO[T]) lockedQueueListed(r relist, list []T) {
	for _, obj := range list {
		f.lockedMark(r, f.lockedQueue(controlloop.KeyOf(obj), Delta[T]{Type: r.action, Object: obj}))
	}
}

// lockedTombstoneHeld queues an inferred deletion for each unlisted key the
// FIFO holds: with queued deltas, the newest one's object; being processed
// with nothing queued, the newest popped object unless it was a deletion
// (the popped deltas stand for KnownObjects: see lockedKnown).
func (f *FIFO[T]) lockedTombstoneHeld(r relist) {
	for _, s := range f.items {
		if s.gen == r.gen {
			continue
		}
		var last Delta[T]
		switch {
		case len(s.deltas) > 0:
			last = s.deltas.Newest()
		case f.known != nil && s.popped.Newest().Type != Deleted:
			last = s.popped.Newest()
		default:
			continue
		}
		f.lockedMark(r, f.lockedQueue(s.key, Delta[T]{Type: Deleted, Object: last.Object, FinalStateUnknown: true}))
	}
}

// lockedTombstoneKnown queues an inferred deletion for each key that only
// KnownObjects holds: every key it holds that the FIFO does not hold was
// not listed, since every listed key now has a slot.
func (f *FIFO[T]) lockedTombstoneKnown(r relist) {
	if f.known == nil {
		return
	}
	for k, obj := range f.known.All() {
		if f.items[k] == nil {
			f.lockedMark(r, f.lockedQueue(k, Delta[T]{Type: Deleted, Object: obj, FinalStateUnknown: true}))
		}
	}
}

// Resync queues a Sync delta for each key of KnownObjects that has no
// queued deltas, carrying the known object, so that the consumer sees it
// again. A key being processed counts as known with its newest popped
// object. Without KnownObjects, Resync does nothing. The error is
// [ErrClosed] after Close.
func (f *FIFO[T]) Resync() error {
	if f.synced == nil { // not made by New
		return errNotNew("Resync")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return ErrClosed
	}
	if f.known == nil {
		return nil
	}
	for k, obj := range f.known.All() {
		if f.items[k] != nil {
			continue
		}
		f.lockedQueue(k, Delta[T]{Type: Sync, Object: obj})
	}
	for _, s := range f.items {
		if s.busy && len(s.deltas) == 0 && s.popped.Newest().Type != Deleted {
			f.lockedQueue(s.key, Delta[T]{Type: Sync, Object: s.popped.Newest().Object})
		}
	}
	return nil
}
