package deltafifo

import (
	"fmt"
	"sync"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/internal/ring"
)

// FIFO is a queue of keys, each with the [Deltas] accumulated for it: a
// reflector writes into it (Add, Update, Delete, Replace, Resync) and a
// consumer pops one key's whole Deltas at a time, oldest key first.
//
// Create one with [New]; a FIFO must not be copied. On a zero FIFO, writes
// and Pop return an error wrapping [controlloop.ErrInvalid], Len is 0 and
// HasSynced false. All methods are safe for concurrent use. Writes never block on a
// consumer; [FIFO.Pop] blocks while nothing is queued.
type FIFO[T controlloop.Object] struct {
	known        KnownObjects[T]
	transform    func(T) (T, error)
	emitReplaced bool
	compress     bool

	mu          sync.Mutex // protects every field below
	cond        sync.Cond  // signalled when a key is queued, broadcast on Close
	items       map[controlloop.Key]*slot[T]
	queue       ring.Ring[*slot[T]]
	replaceGen  uint32 // counts Replace calls, to mark listed slots
	populated   bool   // a write or Replace happened
	initialLeft int    // slots of the first Replace not yet processed
	synced      chan struct{}
	isSynced    bool
	closed      bool
	// version is the last Progress; newVersion says no PopBatch has
	// handed it out yet.
	version    string
	newVersion bool
	// relisted says a Replace after the initial list's was made that no
	// PopBatch has reported yet.
	relisted bool
	free     []*slot[T]  // recycled slots, at most maxFree
	spare    []Popped[T] // PopBatch's buffer, returned by the last batch to finish
	// slab holds the slots of the Replace in progress, allocated at once, and
	// slabDeltas the room for their first delta (see lockedStartRelist).
	slab       []slot[T]
	slabDeltas []Delta[T]
	sized      bool // items was sized for a Replace
}

// maxFree bounds the recycled slots kept for reuse: as many as a PopBatch
// of a busy stream of changes holds at once, about.
const maxFree = 4096

// slot is the state of one key. A slot is in FIFO.items while it has
// queued deltas or is being processed.
type slot[T controlloop.Object] struct {
	key     controlloop.Key
	deltas  Deltas[T] // queued, in order
	popped  Deltas[T] // being processed (busy): handed to the process function
	gen     uint32    // the last Replace that listed or tombstoned the key; compared for equality only
	queued  bool      // in FIFO.queue
	busy    bool      // being processed
	initial bool      // in the first Replace, not yet processed
	slabbed bool      // allocated in a Replace's slab: never recycled, so as not to pin the slab
	// poppedInitial: popped belongs to the initial list
	poppedInitial bool
}

// New returns an empty FIFO. It fails with an error wrapping
// [controlloop.ErrInvalid], naming the field, for invalid opts: a
// KnownObjects that is a nil pointer.
func New[T controlloop.Object](opts Options[T]) (*FIFO[T], error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	f := &FIFO[T]{
		known:        opts.KnownObjects,
		transform:    opts.Transform,
		emitReplaced: opts.EmitReplaced,
		compress:     opts.CompressUpdates,
		items:        make(map[controlloop.Key]*slot[T]),
		synced:       make(chan struct{}),
	}
	f.cond.L = &f.mu
	return f, nil
}

// prepare validates obj and applies the transform.
func (f *FIFO[T]) prepare(op string, obj T) (T, controlloop.Key, error) {
	if f.synced == nil { // not made by New
		return obj, controlloop.Key{}, errNotNew(op)
	}
	if err := controlloop.Validate(obj); err != nil {
		return obj, controlloop.Key{}, fmt.Errorf("deltafifo: %s: %w", op, err)
	}
	k := controlloop.KeyOf(obj)
	if f.transform == nil {
		return obj, k, nil
	}
	t, err := f.transform(obj)
	if err != nil {
		return obj, k, fmt.Errorf("deltafifo: %s: transform %v: %w", op, k, err)
	}
	if err := controlloop.Validate(t); err != nil || controlloop.KeyOf(t) != k {
		return obj, k, fmt.Errorf("deltafifo: %s: %w: transform changed the key of %v", op, controlloop.ErrInvalid, k)
	}
	return t, k, nil
}

// Add queues an Added delta for obj. The error wraps
// [controlloop.ErrInvalid] for a nil object or an invalid key, or is
// [ErrClosed].
func (f *FIFO[T]) Add(obj T) error { return f.write("Add", Added, obj) }

// Update queues an Updated delta for obj; errors as for [FIFO.Add].
func (f *FIFO[T]) Update(obj T) error { return f.write("Update", Updated, obj) }

func (f *FIFO[T]) write(op string, t DeltaType, obj T) error {
	obj, k, err := f.prepare(op, obj)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return ErrClosed
	}
	f.lockedPopulate()
	f.lockedQueue(k, Delta[T]{Type: t, Object: obj})
	return nil
}

// Delete queues a Deleted delta for obj, unless the FIFO does not know the
// key: then it is a no-op, since the deletion was already reported (by a
// relist, say). The FIFO knows a key that has queued deltas, or that
// KnownObjects holds; while a key is being processed, its popped deltas
// stand for KnownObjects, which the process function is updating. Errors as
// for [FIFO.Add].
func (f *FIFO[T]) Delete(obj T) error {
	obj, k, err := f.prepare("Delete", obj)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return ErrClosed
	}
	f.lockedPopulate()
	s := f.items[k]
	if (s == nil || len(s.deltas) == 0) && !f.lockedKnown(s, k) {
		return nil
	}
	f.lockedQueue(k, Delta[T]{Type: Deleted, Object: obj})
	return nil
}

// lockedKnown reports whether KnownObjects holds k, or will once the key's
// processing ends; s is k's slot or nil.
func (f *FIFO[T]) lockedKnown(s *slot[T], k controlloop.Key) bool {
	if f.known == nil {
		return false
	}
	if s != nil && s.busy {
		return s.popped.Newest().Type != Deleted
	}
	_, ok := f.known.Get(k)
	return ok
}

// lockedPopulate records that the FIFO got its first write.
func (f *FIFO[T]) lockedPopulate() {
	if !f.populated {
		f.populated = true
		f.lockedCheckSynced()
	}
}

func (f *FIFO[T]) lockedCheckSynced() {
	if f.populated && f.initialLeft == 0 && !f.isSynced {
		f.isSynced = true
		close(f.synced)
	}
}

// lockedQueue appends d to k's deltas and queues the key at the back unless
// it is queued or being processed already.
func (f *FIFO[T]) lockedQueue(k controlloop.Key, d Delta[T]) *slot[T] {
	s := f.items[k]
	if s == nil {
		s = f.lockedNewSlot(k)
		f.items[k] = s
	}
	s.deltas = appendDelta(s.deltas, d, f.compress)
	if !s.queued && !s.busy {
		s.queued = true
		f.queue.Push(s)
		f.cond.Signal()
	}
	return s
}

// lockedNewSlot returns an empty slot for k: a recycled one, one of the
// slab of a Replace in progress, or a new one.
func (f *FIFO[T]) lockedNewSlot(k controlloop.Key) *slot[T] {
	var s *slot[T]
	switch n := len(f.free); {
	case n > 0:
		s = f.free[n-1]
		f.free[n-1] = nil
		f.free = f.free[:n-1]
	case len(f.slab) > 0:
		s = &f.slab[0]
		f.slab = f.slab[1:]
		s.slabbed = true
		s.deltas = f.slabDeltas[:0:1]
		f.slabDeltas = f.slabDeltas[1:]
	default:
		s = new(slot[T])
	}
	s.key = k
	return s
}

// lockedRemove forgets slot s, which has no deltas and is not busy.
func (f *FIFO[T]) lockedRemove(s *slot[T]) {
	delete(f.items, s.key)
	if len(f.items) == 0 && f.sized {
		// A map keeps the room it grew to: let a relist's go.
		f.items, f.sized = make(map[controlloop.Key]*slot[T]), false
	}
	slabbed := s.slabbed
	*s = slot[T]{} // a slab outlives its slots: let go of their objects
	if !slabbed && len(f.free) < maxFree {
		f.free = append(f.free, s)
	}
}

// Len returns the number of keys queued, not counting those being
// processed.
func (f *FIFO[T]) Len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.queue.Len()
}

// HasSynced reports whether the initial list has been delivered: every key
// queued by the first Replace has been popped and processed without error.
// It is true at once if Add, Update or Delete came before any Replace, as in
// client-go.
func (f *FIFO[T]) HasSynced() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.isSynced
}

// Synced returns a channel that is closed once [FIFO.HasSynced] is true.
func (f *FIFO[T]) Synced() <-chan struct{} { return f.synced }

// Close stops the FIFO: blocked and later Pops return [ErrClosed] once the
// keys already queued have been popped, and writes return ErrClosed.
// Close is idempotent.
func (f *FIFO[T]) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	f.cond.Broadcast()
}
