package deltafifo

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/controlloop/controlloop"
)

// ProcessFunc handles the Deltas of one key popped by [FIFO.Pop].
// inInitialList reports that the key belongs to the first Replace (the
// initial list), so that an informer can tell its handlers. A nil return
// completes the key; an error requeues it (see [FIFO.Pop]).
type ProcessFunc[T controlloop.Object] func(deltas Deltas[T], inInitialList bool) error

// errPanicked stands for the error of a process function that panicked.
var errPanicked = errors.New("deltafifo: process function panicked")

// Pop waits for a queued key, takes the oldest one out of the queue and
// calls process with its Deltas, without holding the FIFO's lock: writes
// go on meanwhile, and the process function may call the FIFO.
//
// While process runs, the key is never handed to another Pop: deltas
// arriving for it wait, and the key is queued at the back when process
// returns. If process returns an error (or panics), its Deltas are put back
// in front of any that arrived meanwhile (consecutive Deleted deltas still
// collapse at the seam), the key is queued at the back, and Pop returns the
// error; a key of the initial list then still counts as not synced. A
// process function that wants to drop a key after an error must return nil.
//
// Pop returns an error wrapping [controlloop.ErrInvalid] for a nil process,
// [ErrClosed] once the FIFO is closed and nothing is queued
// (keys queued before Close are still handed out), or ctx.Err() if ctx ends
// while it waits. Several goroutines may Pop at once.
func (f *FIFO[T]) Pop(ctx context.Context, process ProcessFunc[T]) error {
	if process == nil {
		return fmt.Errorf("deltafifo: Pop: nil process function: %w", controlloop.ErrInvalid)
	}
	if f.synced == nil { // not made by New
		return errNotNew("Pop")
	}
	f.mu.Lock()
	if err := f.lockedWait(ctx, false); err != nil {
		f.mu.Unlock()
		return err
	}
	s := f.lockedTake()
	f.mu.Unlock()

	done := false
	defer func() {
		if !done {
			f.finish(errPanicked, s)
		}
	}()
	err := process(s.popped, s.poppedInitial)
	done = true
	f.finish(err, s)
	return err
}

// Popped is one key's Deltas handed out by [FIFO.PopBatch], with whether
// the key belongs to the initial list (see [ProcessFunc]).
type Popped[T controlloop.Object] struct {
	Deltas        Deltas[T]
	InInitialList bool
	s             *slot[T]
}

// BatchFunc handles the keys popped together by [FIFO.PopBatch], oldest
// first. A nil return completes every key; an error requeues every key, as
// for [FIFO.Pop]. The batch is the FIFO's once the function returns: it
// must not be kept.
//
// version is the version the FIFO's writes had been brought to when the
// batch was taken (the last [FIFO.Progress]), if the batch took every
// queued key, and "" otherwise: with one consumer, once the function has
// applied the batch, it has applied every change up to version.
//
// relisted is true for the first batch that took every queued key after a
// relist (a [FIFO.Replace] after the initial list's): with one consumer,
// once the function has applied the batch, it has applied every change of
// that relist, and of any before it. Several relists between two such
// batches are reported once.
type BatchFunc[T controlloop.Object] func(batch []Popped[T], version string, relisted bool) error

// PopBatch is [FIFO.Pop] for up to limit keys at once: it waits for a queued
// key, takes the oldest keys queued, up to limit, and calls process once with
// all of them. Each key is handled as Pop handles its key: never handed to
// another Pop meanwhile, requeued at the back once process returns if
// deltas arrived for it, and, when process fails, requeued with its Deltas
// in front. A consumer that applies a batch's changes together (in one
// indexer Txn, say) pays for its bookkeeping once per batch. Errors as for
// Pop, and an error wrapping [controlloop.ErrInvalid] for limit < 1.
//
// PopBatch also returns when [FIFO.Progress] brought a new version, or a
// relist was made, while nothing was queued: it then calls process with an
// empty batch, so that a consumer learns of a bookmark, or of a relist
// that changed nothing, without a change.
func (f *FIFO[T]) PopBatch(ctx context.Context, limit int, process BatchFunc[T]) error {
	switch {
	case process == nil:
		return fmt.Errorf("deltafifo: PopBatch: nil process function: %w", controlloop.ErrInvalid)
	case limit < 1:
		return fmt.Errorf("deltafifo: PopBatch: limit is %d: must be at least 1: %w", limit, controlloop.ErrInvalid)
	case f.synced == nil: // not made by New
		return errNotNew("PopBatch")
	}
	f.mu.Lock()
	if err := f.lockedWait(ctx, true); err != nil {
		f.mu.Unlock()
		return err
	}
	n := min(limit, f.queue.Len())
	batch := f.spare[:0]
	f.spare = nil
	if cap(batch) < n {
		batch = make([]Popped[T], 0, max(n, 2*cap(batch))) // not exact: batches grow in a burst
	}
	for range n {
		s := f.lockedTake()
		batch = append(batch, Popped[T]{Deltas: s.popped, InInitialList: s.poppedInitial, s: s})
	}
	version, relisted := "", false
	if f.queue.Len() == 0 {
		version, f.newVersion = f.version, false
		relisted, f.relisted = f.relisted, false
	}
	f.mu.Unlock()

	done := false
	defer func() {
		if !done {
			f.finishBatch(errPanicked, batch, relisted)
		}
	}()
	err := process(batch, version, relisted)
	done = true
	f.finishBatch(err, batch, relisted)
	return err
}

// maxSpare bounds the capacity of the batch buffer kept for the next
// PopBatch: an initial list's would hold memory for good.
const maxSpare = 4096

// finishBatch ends the processing of a batch's slots, and keeps the batch
// for the next PopBatch. A failed batch that reported a relist leaves it
// to be reported again, with its requeued keys.
func (f *FIFO[T]) finishBatch(err error, batch []Popped[T], relisted bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range batch {
		f.lockedFinish(p.s, err)
	}
	if err != nil && relisted {
		f.relisted = true
	}
	clear(batch)
	if cap(batch) > cap(f.spare) && cap(batch) <= maxSpare {
		f.spare = batch[:0]
	}
}

// lockedTake takes the oldest queued key out of the queue and marks it
// busy, its deltas moved to popped.
func (f *FIFO[T]) lockedTake() *slot[T] {
	s := f.queue.Pop()
	s.queued = false
	s.busy = true
	s.popped, s.poppedInitial = s.deltas, s.initial
	s.deltas = nil
	return s
}

// lockedWait waits until a key is queued (or, with orNews, Progress
// brought a version no batch has taken or a relist was made), the FIFO is
// closed or ctx ends.
func (f *FIFO[T]) lockedWait(ctx context.Context, orNews bool) error {
	var stop func() bool
	defer func() {
		if stop != nil {
			stop()
		}
	}()
	for f.queue.Len() == 0 && !(orNews && (f.newVersion || f.relisted)) {
		if f.closed {
			return ErrClosed
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if stop == nil && ctx.Done() != nil {
			stop = context.AfterFunc(ctx, func() {
				f.mu.Lock()
				f.cond.Broadcast()
				f.mu.Unlock()
			})
		}
		f.cond.Wait()
	}
	return nil
}

// finish ends the processing of the slot of a Pop.
func (f *FIFO[T]) finish(err error, s *slot[T]) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lockedFinish(s, err)
}

// lockedFinish ends the processing of slot s.
func (f *FIFO[T]) lockedFinish(s *slot[T], err error) {
	popped, initial := s.popped, s.poppedInitial
	s.popped, s.poppedInitial, s.busy = nil, false, false
	if err != nil {
		// The process function may keep its slice: merge into a copy.
		merged := slices.Clone(popped)
		for _, d := range s.deltas {
			merged = appendDelta(merged, d, f.compress)
		}
		s.deltas = merged
	} else if initial {
		// Only a popped batch of the initial list counts. A slot marked
		// initial while busy (by a first Replace during the processing of a
		// key queued by Resync) keeps its mark for its queued deltas.
		s.initial = false
		f.initialLeft--
		f.lockedCheckSynced()
	}
	if len(s.deltas) == 0 {
		f.lockedRemove(s)
		return
	}
	s.queued = true
	f.queue.Push(s)
	f.cond.Signal()
}

// Progress records that the writes so far have brought the FIFO to
// version resourceVersion of its source (the reflector calls it: see
// reflector.ProgressStore). The next [FIFO.PopBatch] that takes every
// queued key hands that version to its process function; a PopBatch
// waiting on an empty queue returns with it at once.
func (f *FIFO[T]) Progress(resourceVersion string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.version, f.newVersion = resourceVersion, true
	f.cond.Broadcast() // a Pop, which waits for keys only, may be waiting too
}
