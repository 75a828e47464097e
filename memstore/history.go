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

// history is a ring of the most recent changes, oldest first. It holds the
// last size changes, and beyond them, up to limit, the changes a live
// watcher has yet to deliver. It grows on demand and shrinks back once no
// watcher needs the extra changes, so a small store pays for what it uses.
// The zero history with size and limit set is empty and ready.
type history[T controlloop.Object] struct {
	buf   []change[T]
	size  int // changes kept for new watches and continue tokens
	limit int // changes kept at most, for watchers that lag (>= size)
	start int // index in buf of the oldest change
	n     int // number of changes held
}

// push appends c. When size changes are held, it first drops the oldest
// ones that no watcher needs: those below need, the version of the next
// change the slowest watcher delivers, and any beyond limit.
func (h *history[T]) push(c change[T], need uint64) {
	for h.n >= h.size && (h.buf[h.start].rv < need || h.n >= h.limit) {
		h.dropOldest()
	}
	switch {
	case h.n == len(h.buf):
		h.resize(min(h.limit, max(16, 2*len(h.buf))))
	case len(h.buf) > 2*h.size && h.n < len(h.buf)/2:
		h.resize(max(h.size, 2*h.n)) // a lagging watcher caught up
	}
	h.buf[(h.start+h.n)%len(h.buf)] = c
	h.n++
}

func (h *history[T]) dropOldest() {
	h.buf[h.start] = change[T]{}
	h.start = (h.start + 1) % len(h.buf)
	h.n--
}

func (h *history[T]) resize(next int) {
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
	for h.n > 0 && h.buf[h.start].rv <= rv {
		h.dropOldest()
	}
}
