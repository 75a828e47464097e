package informer

import (
	"context"
	"time"
)

// resyncLoop asks the FIFO to re-deliver the cache whenever some handler's
// resync period has passed, marking those handlers as the ones that receive
// the resulting unchanged updates.
func (i *Informer[T]) resyncLoop(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next, ok := i.nextResync()
		if ok {
			timer.Reset(time.Until(next))
		} else {
			timer.Stop()
		}
		select {
		case <-ctx.Done():
			return
		case <-i.wake:
			continue
		case <-timer.C:
		}
		if i.markResyncing() {
			if err := i.fifo.Resync(); err != nil {
				i.log.Warn("informer: resync failed", "err", err)
			}
		}
	}
}

func (i *Informer[T]) nudgeResync() {
	select {
	case i.wake <- struct{}{}:
	default:
	}
}

// nextResync returns when the earliest handler resync is due.
func (i *Informer[T]) nextResync() (time.Time, bool) {
	i.resyncMu.Lock()
	defer i.resyncMu.Unlock()
	var next time.Time
	for _, r := range i.resyncRegs {
		if next.IsZero() || r.nextResync.Before(next) {
			next = r.nextResync
		}
	}
	return next, !next.IsZero()
}

// markResyncing chooses the handlers whose resync is due, schedules their
// next, and reports whether any is due.
func (i *Informer[T]) markResyncing() bool {
	i.resyncMu.Lock()
	defer i.resyncMu.Unlock()
	now := time.Now()
	due := false
	for _, r := range i.resyncRegs {
		r.resyncing.Store(!now.Before(r.nextResync))
		if r.resyncing.Load() {
			r.nextResync = now.Add(r.opts.ResyncPeriod)
			due = true
		}
	}
	return due
}
