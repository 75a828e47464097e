package workqueue

import (
	"container/heap"
	"time"
)

// delayHeap orders waiting entries by ready time, then by arrival.
// It implements heap.Interface; use its methods, not the heap functions.
type delayHeap[T comparable] []*entry[T]

func (h delayHeap[T]) Len() int { return len(h) }

func (h delayHeap[T]) Less(i, j int) bool {
	if !h[i].readyAt.Equal(h[j].readyAt) {
		return h[i].readyAt.Before(h[j].readyAt)
	}
	return h[i].ticket < h[j].ticket
}

func (h delayHeap[T]) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIndex = i
	h[j].heapIndex = j
}

func (h *delayHeap[T]) Push(x any) {
	e := x.(*entry[T])
	e.heapIndex = len(*h)
	*h = append(*h, e)
}

func (h *delayHeap[T]) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}

func (h *delayHeap[T]) remove(e *entry[T]) { heap.Remove(h, e.heapIndex) }
func (h *delayHeap[T]) fix(e *entry[T])    { heap.Fix(h, e.heapIndex) }

// lockedWait makes e wait until at, and arms the timer if e is now first.
func (q *Queue[T]) lockedWait(e *entry[T], at time.Time) {
	e.state = stateWaiting
	e.readyAt = at
	q.ticket++
	e.ticket = q.ticket
	heap.Push(&q.waiting, e)
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
	at := q.waiting[0].readyAt
	if !q.timerAt.IsZero() && !at.Before(q.timerAt) {
		return
	}
	q.timerAt = at
	if q.timer == nil {
		q.timer = time.AfterFunc(time.Until(at), q.promoteDue)
	} else {
		q.timer.Reset(time.Until(at))
	}
}

// promoteDue runs when the timer fires: it makes every due item ready.
func (q *Queue[T]) promoteDue() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.timerAt = time.Time{}
	if q.shuttingDown {
		return
	}
	now := time.Now()
	for len(q.waiting) > 0 && !q.waiting[0].readyAt.After(now) {
		e := heap.Pop(&q.waiting).(*entry[T])
		q.lockedReady(e, now)
	}
	q.lockedArmTimer()
}
