package informer

import (
	"context"
	"slices"
	"time"
)

// A resync delivers the cache to a handler as updates with old and new the
// same: when its ResyncPeriod has passed, or when its Registration.Resync
// asked for one. The resync loop takes the cache's content holding apply,
// which process holds for a whole batch: so no batch is applied while a
// resync is delivered, every change the cache holds has been handed to
// the handlers before the resync, and each handler sees the resync in
// order with its other notifications. A bounded buffer is waited on as
// process waits on it, without mu.

// resyncLoop delivers the resyncs that are due, and those asked for.
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
		if due := i.dueResyncs(); len(due) > 0 {
			i.resync(due)
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
	// Checked under resyncMu: removeHandler stops r before it takes r out
	// of asked under resyncMu, so a removed r never stays in asked.
	ask := !r.isStopped() && !slices.Contains(i.asked, r)
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

// dueResyncs returns the handlers whose resync is due or was asked for,
// each once, and schedules the next periodic ones.
func (i *Informer[T]) dueResyncs() []*Registration[T] {
	i.resyncMu.Lock()
	defer i.resyncMu.Unlock()
	due := i.asked
	i.asked = nil
	now := time.Now()
	for _, r := range i.resyncRegs {
		if !now.Before(r.nextResync) {
			r.nextResync = now.Add(r.opts.ResyncPeriod)
			if !slices.Contains(due, r) {
				due = append(due, r)
			}
		}
	}
	return due
}

// resync delivers the cache to each of regs, as updates with old and new
// the same. A registration removed meanwhile drops what it is handed.
func (i *Informer[T]) resync(regs []*Registration[T]) {
	i.apply <- struct{}{}
	defer func() { <-i.apply }()
	i.mu.Lock()
	defer i.mu.Unlock()
	changes := make([]change[T], 0, i.idx.Len())
	for obj := range i.idx.List() {
		changes = append(changes, change[T]{n: notification[T]{kind: updateNotification, old: obj, obj: obj}})
	}
	i.hand(regs, changes, func(*Registration[T], change[T]) bool { return true })
}
