package workqueue

// Held returns how many items q keeps a record of: ready, waiting or
// processing. Tests use it to check that q lets go of what it drops.
func (q *Queue[T]) Held() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.entries.n
}

// Waiters returns how many slots q's waiting heap holds, live or stale.
// Tests use it to check that stale slots are dropped.
func (q *Queue[T]) Waiters() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.waiting.w)
}
