package workqueue

import (
	"errors"
	"fmt"

	"github.com/controlloop/controlloop"
)

// ErrShutDown is returned by [Queue.Get] once the queue is shut down and has
// no ready item left to hand out.
var ErrShutDown = errors.New("workqueue: shut down")

// invalid reports that what, whose value is value, breaks rule: an error
// wrapping [controlloop.ErrInvalid] such as
// "workqueue: NewBucket: burst is 0: must be positive: controlloop: invalid".
func invalid(what string, value any, rule string) error {
	return fmt.Errorf("workqueue: %s is %v: %s: %w", what, value, rule, controlloop.ErrInvalid)
}
