package informer

import (
	"context"
	"slices"
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

// askResync asks for a resync of r alone, now: see Registration.Resync.
func (i *Informer[T]) askResync(r *Registration[T]) {
	i.resyncMu.Lock()
	ask := !r.removed && !slices.Contains(i.asked, r)
	if ask {
		i.asked = append(i.asked, r)
	}
	i.resyncMu.Unlock()
	if ask {
		i.nudgeResync()
	}
}

// nextResync returns when the earliest handler resync is due: now if a
// handler asked for one.
func (i *Informer[T]) nextResync() (time.Time, bool) {
	i.resyncMu.Lock()
	defer i.resyncMu.Unlock()
	if len(i.asked) > 0 {
		return time.Now(), true
	}
	var next time.Time
	for _, r := range i.resyncRegs {
		if next.IsZero() || r.nextResync.Before(next) {
			next = r.nextResync
		}
	}
	return next, !next.IsZero()
}

// markResyncing chooses the handlers whose resync is due, and those that
// asked for one, schedules the next periodic ones, and reports whether any
// is due.
func (i *Informer[T]) markResyncing() bool {
	i.resyncMu.Lock()
	defer i.resyncMu.Unlock()
	for _, r := range i.resynced {
		r.resyncing.Store(false)
	}
	now := time.Now()
	due := false
	for _, r := range i.resyncRegs {
		r.resyncing.Store(!now.Before(r.nextResync))
		if r.resyncing.Load() {
			r.nextResync = now.Add(r.opts.ResyncPeriod)
			due = true
		}
	}
	for _, r := range i.asked {
		r.resyncing.Store(true)
	}
	i.resynced, i.asked = append(i.resynced[:0], i.asked...), i.asked[:0]
	return due || len(i.resynced) > 0
}
