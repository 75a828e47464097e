package informer

import (
	"context"
	"time"
)

// WaitForCacheSync waits until every one of hasSynced reports true (pass
// informers' or registrations' HasSynced), checking every 10ms. It returns
// nil once they all have, or ctx.Err() if ctx ends first.
func WaitForCacheSync(ctx context.Context, hasSynced ...func() bool) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		all := true
		for _, f := range hasSynced {
			if !f() {
				all = false
				break
			}
		}
		if all {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}
