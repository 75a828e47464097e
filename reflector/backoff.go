package reflector

import (
	"math/rand/v2"
	"time"
)

// backoff computes retry delays: exponential from initial, doubling up to
// max, lengthened by a random jitter, and starting over once a period of
// reset has passed since the end of the last delay. It is not safe for
// concurrent use: the reflector's one goroutine owns it.
type backoff struct {
	initial, max, reset time.Duration
	jitter              float64

	next time.Duration // base of the next delay; 0 before the first
	end  time.Time     // when the last delay ended
}

// delay returns how long to wait before the retry that follows a failure at
// now.
func (b *backoff) delay(now time.Time) time.Duration {
	if b.next == 0 || now.Sub(b.end) >= b.reset {
		b.next = b.initial
	}
	d := b.next
	b.next = min(2*b.next, b.max)
	if b.jitter > 0 {
		d += time.Duration(rand.Float64() * b.jitter * float64(d))
	}
	b.end = now.Add(d)
	return d
}
