package workqueue

import "time"

// delayHeap orders waiting entries by ready time, then by arrival: a 4-ary
// min-heap of waiters, each keeping its entry's ready time and ticket beside
// the pointer, so that sifting compares and moves waiters without touching
// the entries.
//
// Deletion is lazy: a waiter is live only while its entry still waits with
// the same ticket and ready time. An entry that becomes ready at once, or
// whose ready time moves earlier (it gets a new waiter), leaves a stale
// waiter behind, which first skips. Stale waiters are dropped in one pass
// when they outnumber the live ones, so the heap holds at most twice the
// waiting items, and each stale waiter costs O(1) amortised.
type delayHeap[T comparable] struct {
	w     []waiter[T]
	stale int // stale waiters in w
}

type waiter[T comparable] struct {
	at     instant
	ticket uint64
	e      *entry[T]
}

func (w waiter[T]) before(o waiter[T]) bool {
	return w.at < o.at || w.at == o.at && w.ticket < o.ticket
}

// isLive reports whether w is still its entry's place in the heap. An
// entry given back to the free list has state 0, and one reused has a newer
// ticket, so a stale waiter never matches.
func (w waiter[T]) isLive() bool {
	return w.e.state == stateWaiting && w.e.ticket == w.ticket && w.e.readyAt == w.at
}

// arity is the heap's fan-out: four children per node halve its depth, and
// so the cache misses of a pop, at the price of more comparisons per level.
const arity = 4

// push adds e, due at e.readyAt, and reports whether it is now first.
func (h *delayHeap[T]) push(e *entry[T]) bool {
	h.w = append(h.w, waiter[T]{at: e.readyAt, ticket: e.ticket, e: e})
	return h.up(len(h.w)-1) == 0
}

// first returns the earliest live waiter, dropping the stale ones before
// it; ok is false when no entry waits.
func (h *delayHeap[T]) first() (w waiter[T], ok bool) {
	for len(h.w) > 0 {
		if w := h.w[0]; w.isLive() {
			return w, true
		}
		h.removeFirst()
		h.stale--
	}
	return waiter[T]{}, false
}

// pop removes the waiter that first returned.
func (h *delayHeap[T]) pop() {
	h.removeFirst()
	h.dropStale()
}

// removeFirst removes the earliest waiter, live or stale.
func (h *delayHeap[T]) removeFirst() {
	last := len(h.w) - 1
	h.w[0] = h.w[last]
	h.w[last] = waiter[T]{}
	h.w = h.w[:last]
	if last > 0 {
		h.down(0)
	}
}

// abandon records that one waiter went stale.
func (h *delayHeap[T]) abandon() {
	h.stale++
	h.dropStale()
}

// dropStale drops the stale waiters if they are the majority, and restores
// the heap order over the live ones.
func (h *delayHeap[T]) dropStale() {
	if 2*h.stale <= len(h.w) {
		return
	}
	live := h.w[:0]
	for _, w := range h.w {
		if w.isLive() {
			live = append(live, w)
		}
	}
	clear(h.w[len(live):])
	h.w, h.stale = live, 0
	if len(live) > 1 {
		for i := (len(live) - 2) / arity; i >= 0; i-- {
			h.down(i)
		}
	}
}

// live calls f with every waiting entry, in no particular order.
func (h *delayHeap[T]) live(f func(*entry[T])) {
	for _, w := range h.w {
		if w.isLive() {
			f(w.e)
		}
	}
}

// reset empties the heap.
func (h *delayHeap[T]) reset() {
	clear(h.w)
	h.w, h.stale = h.w[:0], 0
}

// up sifts h.w[i] towards the root and returns where it ends.
func (h *delayHeap[T]) up(i int) int {
	w := h.w[i]
	for i > 0 {
		parent := (i - 1) / arity
		if !w.before(h.w[parent]) {
			break
		}
		h.w[i] = h.w[parent]
		i = parent
	}
	h.w[i] = w
	return i
}

// down sifts h.w[i] towards the leaves.
func (h *delayHeap[T]) down(i int) {
	w, n := h.w[i], len(h.w)
	for {
		child := arity*i + 1
		if child >= n {
			break
		}
		for c, end := child+1, min(child+arity, n); c < end; c++ {
			if h.w[c].before(h.w[child]) {
				child = c
			}
		}
		if !h.w[child].before(w) {
			break
		}
		h.w[i] = h.w[child]
		i = child
	}
	h.w[i] = w
}

// lockedWait makes e wait until at, and arms the timer if e is now first.
func (q *Queue[T]) lockedWait(e *entry[T], at instant) {
	e.state = stateWaiting
	e.readyAt = at
	q.ticket++
	e.ticket = q.ticket
	if q.waiting.push(e) {
		q.lockedArmTimer()
	}
}

// lockedWaitLess moves the ready time of e, which waits, earlier to at.
// Its old waiter goes stale; the new one keeps e's ticket, so that e keeps
// its place among entries due at the same instant.
func (q *Queue[T]) lockedWaitLess(e *entry[T], at instant) {
	e.readyAt = at
	first := q.waiting.push(e)
	q.waiting.abandon()
	if first {
		q.lockedArmTimer()
	}
}

// lockedStopWaiting takes e, which waits, out of the heap: the caller
// changes its state.
func (q *Queue[T]) lockedStopWaiting(e *entry[T]) {
	e.state = 0
	q.waiting.abandon()
}

// lockedArmTimer makes sure the timer fires by the time the earliest
// waiting item is due. A timer armed earlier than needed fires and re-arms.
func (q *Queue[T]) lockedArmTimer() {
	w, ok := q.waiting.first()
	if !ok || q.timerArmed && w.at >= q.timerAt {
		return
	}
	q.timerAt, q.timerArmed = w.at, true
	if q.timer == nil {
		q.timer = time.AfterFunc(w.at-q.now(), q.promoteDue)
	} else {
		q.timer.Reset(w.at - q.now())
	}
}

// promoteDue runs when the timer fires: it makes every due item ready.
func (q *Queue[T]) promoteDue() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.timerArmed = false
	// After shutdown the heap is empty: ShutDown drops what waits, and
	// nothing enters it again.
	now := q.now()
	for {
		w, ok := q.waiting.first()
		if !ok || w.at > now {
			break
		}
		q.waiting.pop()
		q.lockedReady(w.e, now)
	}
	q.lockedArmTimer()
}
