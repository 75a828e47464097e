package workqueue

import "time"

// delayHeap orders waiting entries by ready time, then by arrival: a
// 4-ary min-heap that keeps each entry's ready time and ticket beside its pointer,
// so that sifting compares without touching the entries.
type delayHeap[T comparable] []waiter[T]

type waiter[T comparable] struct {
	at     instant
	ticket uint64
	e      *entry[T]
}

func (w waiter[T]) before(o waiter[T]) bool {
	return w.at < o.at || w.at == o.at && w.ticket < o.ticket
}

// arity is the heap's fan-out: four children per node halve its depth, and
// so the cache misses of a pop, at the price of more comparisons per level.
const arity = 4

func (h *delayHeap[T]) push(e *entry[T]) {
	*h = append(*h, waiter[T]{at: e.readyAt, ticket: e.ticket, e: e})
	h.up(len(*h) - 1)
}

// pop removes and returns the earliest entry.
func (h *delayHeap[T]) pop() *entry[T] {
	e := (*h)[0].e
	h.removeAt(0)
	return e
}

func (h *delayHeap[T]) remove(e *entry[T]) { h.removeAt(e.heapIndex) }

// fix restores the order after e's ready time moved earlier.
func (h *delayHeap[T]) fix(e *entry[T]) {
	(*h)[e.heapIndex].at = e.readyAt
	h.up(e.heapIndex)
}

func (h *delayHeap[T]) removeAt(i int) {
	old := *h
	last := len(old) - 1
	if i != last {
		old[i] = old[last]
		old[i].e.heapIndex = i
	}
	old[last] = waiter[T]{}
	*h = old[:last]
	if i != last {
		if !h.down(i) {
			h.up(i)
		}
	}
}

func (h delayHeap[T]) up(i int) {
	w := h[i]
	for i > 0 {
		parent := (i - 1) / arity
		if !w.before(h[parent]) {
			break
		}
		h[i] = h[parent]
		h[i].e.heapIndex = i
		i = parent
	}
	h[i] = w
	w.e.heapIndex = i
}

// down sifts h[i] towards the leaves and reports whether it moved.
func (h delayHeap[T]) down(i int) bool {
	w, start := h[i], i
	for {
		child := arity*i + 1
		if child >= len(h) {
			break
		}
		for c, end := child+1, min(child+arity, len(h)); c < end; c++ {
			if h[c].before(h[child]) {
				child = c
			}
		}
		if !h[child].before(w) {
			break
		}
		h[i] = h[child]
		h[i].e.heapIndex = i
		i = child
	}
	h[i] = w
	w.e.heapIndex = i
	return i > start
}

// lockedWait makes e wait until at, and arms the timer if e is now first.
func (q *Queue[T]) lockedWait(e *entry[T], at instant) {
	e.state = stateWaiting
	e.readyAt = at
	q.ticket++
	e.ticket = q.ticket
	q.waiting.push(e)
	if e.heapIndex == 0 {
		q.lockedArmTimer()
	}
}

// lockedArmTimer makes sure the timer fires by the time the earliest
// waiting item is due. A timer armed earlier than needed fires and re-arms.
func (q *Queue[T]) lockedArmTimer() {
	if len(q.waiting) == 0 {
		return
	}
	at := q.waiting[0].at
	if q.timerArmed && at >= q.timerAt {
		return
	}
	q.timerAt, q.timerArmed = at, true
	if q.timer == nil {
		q.timer = time.AfterFunc(at-q.now(), q.promoteDue)
	} else {
		q.timer.Reset(at - q.now())
	}
}

// promoteDue runs when the timer fires: it makes every due item ready.
func (q *Queue[T]) promoteDue() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.timerArmed = false
	if q.shuttingDown {
		return
	}
	now := q.now()
	for len(q.waiting) > 0 && q.waiting[0].at <= now {
		e := q.waiting.pop()
		q.lockedReady(e, now)
	}
	q.lockedArmTimer()
}
