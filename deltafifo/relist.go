package deltafifo

import "github.com/controlloop/controlloop"

// Replace records a relist: a Sync delta (Replaced with
// Options.EmitReplaced) for each of items, then, for each key that the FIFO
// holds deltas for or KnownObjects holds but items lacks, a Deleted delta
// with FinalStateUnknown set, carrying the newest object known for the key.
// resourceVersion is not used.
//
// The first Replace (unless a write came first) defines the initial list
// that [FIFO.HasSynced] waits for. The error wraps [controlloop.ErrInvalid]
// for a nil item or an invalid key, or comes from Options.Transform, or is
// [ErrClosed]; nothing is queued then. Cost: O(len(items) + keys held +
// len(KnownObjects)).
func (f *FIFO[T]) Replace(items []T, resourceVersion string) error {
	list := items
	if f.transform != nil {
		list = make([]T, len(items))
	}
	for i, obj := range items {
		obj, _, err := f.prepare("Replace", obj)
		if err != nil {
			return err
		}
		if f.transform != nil {
			list[i] = obj
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return ErrClosed
	}
	action := Sync
	if f.emitReplaced {
		action = Replaced
	}
	initial := !f.populated
	f.populated = true
	if len(f.items) == 0 && len(list) > 64 {
		// Size the map and allocate the slots at once, not item by item.
		f.items = make(map[controlloop.Key]*slot[T], len(list))
		f.batch = make([]slot[T], len(list))
		f.batchDeltas = make([]Delta[T], len(list))
	}
	f.replaceGen++
	gen := f.replaceGen
	mark := func(s *slot[T]) {
		s.gen = gen
		if initial && !s.initial {
			s.initial = true
			f.initialLeft++
		}
	}
	// With a KnownObjects that can count, count the listed keys it holds
	// (leaving out keys being processed, whose presence may change
	// meanwhile): if that is all of them, no key is known only there and
	// the walk over KnownObjects below can be skipped.
	counter, counts := f.known.(keyCounter)
	if counts && counter.Len() > len(list) {
		counts = false // some known key is unlisted: the walk is needed anyway
	}
	listedKnown := 0
	var batch [64]controlloop.Key // keys to count, in batches: see keyCounter
	n := 0
	for _, obj := range list {
		k := controlloop.KeyOf(obj)
		s := f.lockedQueue(k, Delta[T]{Type: action, Object: obj})
		if counts && s.gen != gen && !s.busy {
			batch[n] = k
			if n++; n == len(batch) {
				listedKnown += counter.CountKeys(batch[:n])
				n = 0
			}
		}
		mark(s)
	}
	if n > 0 {
		listedKnown += counter.CountKeys(batch[:n])
	}
	// Keys the FIFO holds that the list lacks: the queued keys, then those
	// being processed. A slot being processed with nothing queued stands
	// for KnownObjects (see lockedKnown). The queue is walked in place:
	// the keys this loop queues are queued already or busy.
	tombstone := func(s *slot[T], popped Deltas[T]) {
		if s.gen == gen {
			return
		}
		var last Delta[T]
		switch {
		case len(s.deltas) > 0:
			last = s.deltas.Newest()
		case f.known != nil && popped.Newest().Type != Deleted:
			last = popped.Newest() // see lockedKnown
		default:
			return
		}
		mark(f.lockedQueue(s.key, Delta[T]{Type: Deleted, Object: last.Object, FinalStateUnknown: true}))
	}
	for i := range f.queue.Len() {
		tombstone(f.queue.At(i), nil)
	}
	for _, b := range f.busy {
		tombstone(b.s, b.popped)
	}
	// Keys only KnownObjects holds. Every key it holds besides those being
	// processed was listed if it holds no more than the listed ones.
	if f.known != nil && (!counts || counter.Len() > listedKnown) {
		for k, obj := range f.known.All() {
			if f.items[k] != nil {
				continue
			}
			mark(f.lockedQueue(k, Delta[T]{Type: Deleted, Object: obj, FinalStateUnknown: true}))
		}
	}
	f.batch, f.batchDeltas = nil, nil // the rest would pin the batch
	f.lockedCheckSynced()
	return nil
}

// Resync queues a Sync delta for each key of KnownObjects that has no
// queued deltas, carrying the known object, so that the consumer sees it
// again. A key being processed counts as known with its newest popped
// object. Without KnownObjects, Resync does nothing. The error is
// [ErrClosed] after Close.
func (f *FIFO[T]) Resync() error {
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
	for _, b := range f.busy {
		if len(b.s.deltas) == 0 && b.popped.Newest().Type != Deleted {
			f.lockedQueue(b.s.key, Delta[T]{Type: Sync, Object: b.popped.Newest().Object})
		}
	}
	return nil
}

// keyCounter is what a KnownObjects may also offer for Replace to check,
// with a lookup per listed key, that it holds no unlisted key. CountKeys
// returns how many of keys it holds; Replace passes keys in batches, which
// lets an implementation overlap the lookups.
type keyCounter interface {
	Len() int
	CountKeys(keys []controlloop.Key) int
}
