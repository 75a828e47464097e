package informer

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/controlloop/controlloop/internal/ring"
)

type notificationKind uint8

const (
	addNotification notificationKind = iota + 1
	updateNotification
	deleteNotification
	relistDoneNotification // to RelistHandlers only
)

// notification is one call to make on a Handler.
type notification[T any] struct {
	kind     notificationKind
	old, obj T    // update: old and new; otherwise obj
	flag     bool // add: in initial list; update: an unchanged object a relist found; delete: final state unknown
}

// Registration is a handler's place in an informer, returned by
// [Informer.AddHandler]. Its methods are safe for concurrent use.
type Registration[T any] struct {
	handler Handler[T]
	relists bool // handler is a RelistHandler
	opts    HandlerOptions
	log     *slog.Logger
	remove  func() // takes the registration out of its informer
	resync  func() // asks the informer for a resync of this handler

	mu      sync.Mutex // protects the fields below
	cond    sync.Cond  // broadcast when the buffer changes or the registration stops
	buf     ring.Ring[notification[T]]
	stopped bool
	// enqueued counts notifications ever buffered; syncTarget is the count
	// that includes every initial-list notification, once known.
	enqueued   uint64
	syncTarget uint64

	targetSet atomic.Bool
	delivered atomic.Uint64 // notifications handed to the handler
	panics    atomic.Int64

	// nextResync is guarded by the informer's resyncMu.
	nextResync time.Time
}

func newRegistration[T any](h Handler[T], opts HandlerOptions, log *slog.Logger) *Registration[T] {
	r := &Registration[T]{handler: h, opts: opts, log: log}
	_, r.relists = h.(RelistHandler[T])
	r.cond.L = &r.mu
	return r
}

// HasSynced reports whether every initial-list notification has been
// delivered to this handler: the informer's first list (or, for a handler
// added later, the cache at that moment) has been handled.
func (r *Registration[T]) HasSynced() bool {
	return r.targetSet.Load() && r.delivered.Load() >= r.target()
}

// InitialProgress reports the delivery of the initial list to this
// handler: how many of its notifications have been delivered, and how many
// it holds. known is false, and both counts 0, until the informer has
// listed (or, for a handler added later, until AddHandler has buffered
// the cache). A slow handler shows here as delivered < total.
func (r *Registration[T]) InitialProgress() (delivered, total uint64, known bool) {
	if !r.targetSet.Load() {
		return 0, 0, false
	}
	total = r.target()
	return min(r.delivered.Load(), total), total, true
}

func (r *Registration[T]) target() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.syncTarget
}

// Remove stops delivering to the handler and drops what it had buffered.
// A notification being delivered finishes first. Removing twice is a no-op.
func (r *Registration[T]) Remove() { r.remove() }

// Resync asks for one resync of this handler, soon (while the informer
// runs): every object the cache then holds is delivered to it again as an
// update with old and new the same, as its ResyncPeriod would (a handler
// without one gets it too), after every change the cache held before.
// Several calls before the resync starts ask for one; a periodic resync
// keeps its schedule. It never waits, so a handler may call it; on a
// removed registration it does nothing.
func (r *Registration[T]) Resync() { r.resync() }

// Pending returns how many notifications wait in the buffer: a handler that
// cannot keep up shows here.
func (r *Registration[T]) Pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.Len()
}

// Panics returns how many times the handler panicked. Each panic is
// recovered and logged; the notification counts as delivered.
func (r *Registration[T]) Panics() int64 { return r.panics.Load() }

// setSyncTarget marks the notifications buffered so far as the initial list.
func (r *Registration[T]) setSyncTarget() {
	r.mu.Lock()
	r.syncTarget = r.enqueued
	r.mu.Unlock()
	r.targetSet.Store(true)
}

// enqueue buffers n; with a bounded buffer it waits for room. It must not
// be called holding a lock that a handler may need (see apply).
func (r *Registration[T]) enqueue(n notification[T]) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.opts.MaxBuffer > 0 && r.buf.Len() >= r.opts.MaxBuffer && !r.stopped {
		r.cond.Wait()
	}
	r.lockedPush(n)
}

// tryEnqueue buffers n unless a bounded buffer is full, and reports
// whether it did not have to leave n out (a stopped registration drops it).
func (r *Registration[T]) tryEnqueue(n notification[T]) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.opts.MaxBuffer > 0 && r.buf.Len() >= r.opts.MaxBuffer && !r.stopped {
		return false
	}
	r.lockedPush(n)
	return true
}

// enqueueInitial buffers an add, marked initial, for each of objs, beyond
// any bound: AddHandler calls it and must not wait for the handler.
func (r *Registration[T]) enqueueInitial(objs []T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, obj := range objs {
		r.lockedPush(notification[T]{kind: addNotification, obj: obj, flag: true})
	}
}

func (r *Registration[T]) lockedPush(n notification[T]) {
	if r.stopped {
		return
	}
	r.buf.Push(n)
	r.enqueued++
	r.cond.Broadcast()
}

func (r *Registration[T]) isStopped() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopped
}

// stop ends the registration's goroutine and drops what it buffered.
func (r *Registration[T]) stop() {
	r.mu.Lock()
	r.stopped = true
	r.buf = ring.Ring[notification[T]]{}
	r.cond.Broadcast()
	r.mu.Unlock()
}

// run delivers buffered notifications until stop.
func (r *Registration[T]) run() {
	for {
		r.mu.Lock()
		for r.buf.Len() == 0 && !r.stopped {
			r.cond.Wait()
		}
		if r.stopped {
			r.mu.Unlock()
			return
		}
		n := r.buf.Pop()
		if r.opts.MaxBuffer > 0 {
			r.cond.Broadcast() // room for a waiting enqueue
		}
		r.mu.Unlock()
		r.deliver(n)
		r.delivered.Add(1)
	}
}

func (r *Registration[T]) deliver(n notification[T]) {
	defer func() {
		if p := recover(); p != nil {
			r.panics.Add(1)
			r.log.Error("informer: handler panicked", "panic", fmt.Sprint(p))
		}
	}()
	switch n.kind {
	case addNotification:
		r.handler.OnAdd(n.obj, n.flag)
	case updateNotification:
		if rh, ok := r.handler.(RelistHandler[T]); ok && n.flag {
			rh.OnRelist(n.obj)
			return
		}
		r.handler.OnUpdate(n.old, n.obj)
	case deleteNotification:
		r.handler.OnDelete(n.obj, n.flag)
	case relistDoneNotification:
		r.handler.(RelistHandler[T]).OnRelistDone()
	}
}
