package deltafifo

import "github.com/controlloop/controlloop"

// QueuedKeys returns the queued keys, oldest first.
func (f *FIFO[T]) QueuedKeys() []controlloop.Key {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]controlloop.Key, 0, f.queue.Len())
	for i := range f.queue.Len() {
		out = append(out, f.queue.At(i).key)
	}
	return out
}

// Queued returns a copy of the deltas queued for k.
func (f *FIFO[T]) Queued(k controlloop.Key) Deltas[T] {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.items[k]; s != nil {
		return append(Deltas[T](nil), s.deltas...)
	}
	return nil
}

// Slots returns the number of keys with queued deltas or being processed.
func (f *FIFO[T]) Slots() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.items)
}
