package memstore

import "github.com/controlloop/controlloop"

// change is one write as the history records it. Versions of consecutive
// changes differ by one: every write makes exactly one change.
type change[T controlloop.Object] struct {
	rv  uint64
	typ controlloop.EventType // Added, Modified or Deleted
	// obj is the state after the change; for Deleted, the last state stamped
	// with the delete's version.
	obj T
	// prev is the state before the change; zero for Added.
	prev T
}

// history is a ring of the most recent changes, oldest first, at most size
// long. It grows on demand up to size, so a small store pays for what it
// uses. The zero history with size set is empty and ready.
type history[T controlloop.Object] struct {
	buf   []change[T]
	size  int // capacity limit
	start int // index in buf of the oldest change
	n     int // number of changes held
}

// push appends c, dropping the oldest change when the ring is full.
func (h *history[T]) push(c change[T]) {
	if h.n == len(h.buf) && len(h.buf) < h.size {
		h.grow()
	}
	if h.n == h.size {
		h.buf[h.start] = c
		h.start = (h.start + 1) % len(h.buf)
		return
	}
	h.buf[(h.start+h.n)%len(h.buf)] = c
	h.n++
}

func (h *history[T]) grow() {
	next := min(h.size, max(16, 2*len(h.buf)))
	buf := make([]change[T], next)
	for i := range h.n {
		buf[i] = h.buf[(h.start+i)%len(h.buf)]
	}
	h.buf, h.start = buf, 0
}

// oldest returns the version of the oldest change held; ok is false when
// the history is empty.
func (h *history[T]) oldest() (rv uint64, ok bool) {
	if h.n == 0 {
		return 0, false
	}
	return h.buf[h.start].rv, true
}

// at returns the change with version rv, which must be held.
func (h *history[T]) at(rv uint64) change[T] {
	first := h.buf[h.start].rv
	return h.buf[(h.start+int(rv-first))%len(h.buf)]
}

// dropThrough forgets every change with a version at or below rv.
func (h *history[T]) dropThrough(rv uint64) {
	var zero change[T]
	for h.n > 0 && h.buf[h.start].rv <= rv {
		h.buf[h.start] = zero
		h.start = (h.start + 1) % len(h.buf)
		h.n--
	}
}
