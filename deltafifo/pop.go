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
		return fmt.Errorf("deltafifo: Pop: %w: nil process function", controlloop.ErrInvalid)
	}
	f.mu.Lock()
	if f.queue.Len() == 0 {
		if err := f.lockedWait(ctx); err != nil {
			f.mu.Unlock()
			return err
		}
	}
	s := f.queue.Pop()
	s.queued = false
	s.busy = true
	deltas, initial := s.deltas, s.initial
	s.deltas = nil
	f.busy = append(f.busy, inflight[T]{s, deltas, initial})
	f.mu.Unlock()

	done := false
	defer func() {
		if !done {
			f.finish(s, errPanicked)
		}
	}()
	err := process(deltas, initial)
	done = true
	f.finish(s, err)
	return err
}

// lockedWait waits until a key is queued, the FIFO is closed or ctx ends.
func (f *FIFO[T]) lockedWait(ctx context.Context) error {
	var stop func() bool
	defer func() {
		if stop != nil {
			stop()
		}
	}()
	for f.queue.Len() == 0 {
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

// finish ends the processing of slot s with the process function's error.
func (f *FIFO[T]) finish(s *slot[T], err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var popped Deltas[T]
	var initial bool
	for i, b := range f.busy {
		if b.s == s {
			popped, initial = b.popped, b.initial
			last := len(f.busy) - 1
			f.busy[i] = f.busy[last]
			f.busy[last] = inflight[T]{}
			f.busy = f.busy[:last]
			break
		}
	}
	s.busy = false
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
