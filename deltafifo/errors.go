package deltafifo

import "errors"

// Sentinel errors of this package. Test for them with [errors.Is].
var (
	// ErrClosed is returned by [FIFO.Pop] once the FIFO is closed and
	// drained, and by writes made after [FIFO.Close].
	ErrClosed = errors.New("deltafifo: closed")
)
