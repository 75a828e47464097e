package deltafifo

import (
	"errors"
	"fmt"

	"github.com/controlloop/controlloop"
)

// Sentinel errors of this package. Test for them with [errors.Is].
var (
	// ErrClosed is returned by [FIFO.Pop] once the FIFO is closed and
	// drained, and by writes made after [FIFO.Close].
	ErrClosed = errors.New("deltafifo: closed")
)

// errNotNew returns the error of method op called on a FIFO not made by
// [New].
func errNotNew(op string) error {
	return fmt.Errorf("deltafifo: %s: FIFO not made by New: %w", op, controlloop.ErrInvalid)
}
