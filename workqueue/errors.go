package workqueue

import "errors"

// ErrShutDown is returned by [Queue.Get] once the queue is shut down and has
// no ready item left to hand out.
var ErrShutDown = errors.New("workqueue: shut down")
