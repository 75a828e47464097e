package reconcile

import (
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/informer"
)

// NewBinding returns the informer handler that Watch registers, for tests
// that deliver notifications an informer sends only in some conditions
// (resyncs).
func NewBinding[T controlloop.Object, R comparable](c *Controller[R], m Mapper[T, R], preds ...Predicate[T]) informer.RelistHandler[T] {
	return newBinding(c, m, preds)
}

// SyncPeriod draws a binding's resync period, as Watch does.
func SyncPeriod[R comparable](c *Controller[R]) time.Duration { return c.syncPeriod() }

// LimitOutcomes makes c remember the outcomes of at most n requests for
// WaitUntilReconciled, and returns how many it remembers.
func LimitOutcomes[R comparable](c *Controller[R], n int) (remembered func() int) {
	c.fresh.mu.Lock()
	c.fresh.done.limit = n
	c.fresh.mu.Unlock()
	return func() int {
		c.fresh.mu.Lock()
		defer c.fresh.mu.Unlock()
		return len(c.fresh.done.keys)
	}
}
