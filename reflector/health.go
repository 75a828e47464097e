package reflector

import "time"

// Health is how a reflector's lists and watches fare, as
// [Reflector.Health] reports it: what a readiness probe or an alert reads.
// The zero Health is that of a reflector that has not yet heard from its
// source, nor failed.
type Health struct {
	// LastSuccess is when the source last answered: a list page was
	// received, or a watch event or bookmark was received and applied. It
	// is zero before the first.
	LastSuccess time.Time
	// Err is the error that ended the last list or watch, the one
	// Options.WatchErrorHandler was last called with, while the reflector
	// has not recovered from it; nil when healthy. The reflector has
	// recovered once the source answers again (as for LastSuccess), or once
	// a watch has stayed open for Options.BackoffReset without failing: a
	// quiet source whose watch is up is healthy, however long it has been
	// since its last change.
	Err error
	// FailingSince is when the first failure that the reflector has not
	// recovered from happened: when Err became non-nil. It is zero when Err
	// is nil.
	FailingSince time.Time
}

// Health reports how the reflector's lists and watches fare. It is safe to
// call at any time, from any goroutine.
func (r *Reflector[T]) Health() Health {
	if r == nil {
		return Health{}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.health
}

// progressed records that the source answered; a non-empty rv is the
// version the store has been brought to.
func (r *Reflector[T]) progressed(rv string) {
	now := time.Now()
	r.mu.Lock()
	if rv != "" {
		r.lastRV = rv
	}
	r.health = Health{LastSuccess: now}
	r.mu.Unlock()
	if r.progress != nil && rv != "" {
		r.progress.Progress(rv)
	}
}

// failed records a failure that ended a list or a watch.
func (r *Reflector[T]) failed(err error) {
	now := time.Now()
	r.mu.Lock()
	if r.health.Err == nil {
		r.health.FailingSince = now
	}
	r.health.Err = err
	r.mu.Unlock()
}

// failing reports whether the reflector has yet to recover from a failure.
func (r *Reflector[T]) failing() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.health.Err != nil
}

// recovered records that a watch stayed open long enough to count as up,
// although the source sent nothing.
func (r *Reflector[T]) recovered() {
	r.mu.Lock()
	r.health.Err, r.health.FailingSince = nil, time.Time{}
	r.mu.Unlock()
}
