package ring

// Ring is a growable first-in-first-out buffer: amortised O(1) Push and Pop,
// no shifting. The zero Ring is empty and ready to use. It is not safe for
// concurrent use.
type Ring[T any] struct {
	buf  []T // len(buf) is a power of two, or zero
	head int
	n    int
}

// releaseAbove is the capacity above which an emptied ring lets its buffer
// go, so that a burst does not pin memory for good.
const releaseAbove = 1024

// Len returns the number of elements.
func (r *Ring[T]) Len() int { return r.n }

// Push adds v at the back.
func (r *Ring[T]) Push(v T) {
	if r.n == len(r.buf) {
		nb := make([]T, max(16, 2*len(r.buf)))
		for i := range r.n {
			nb[i] = r.buf[(r.head+i)&(len(r.buf)-1)]
		}
		r.buf, r.head = nb, 0
	}
	r.buf[(r.head+r.n)&(len(r.buf)-1)] = v
	r.n++
}

// Pop removes and returns the front element. The ring must not be empty.
func (r *Ring[T]) Pop() T {
	var zero T
	v := r.buf[r.head]
	r.buf[r.head] = zero
	r.head = (r.head + 1) & (len(r.buf) - 1)
	r.n--
	if r.n == 0 && len(r.buf) > releaseAbove {
		r.buf, r.head = nil, 0
	}
	return v
}

// At returns the i-th element from the front, 0 <= i < Len().
func (r *Ring[T]) At(i int) T { return r.buf[(r.head+i)&(len(r.buf)-1)] }
