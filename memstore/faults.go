package memstore

import (
	"fmt"
	"slices"

	"github.com/controlloop/controlloop"
)

// BreakWatches closes every open watch, as a dropped connection would: each
// channel closes without an Error event, and its consumer is expected to
// watch again from the last version it saw.
func (s *Store[T]) BreakWatches() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for w := range s.watchers {
		s.lockedEndWatch(w, nil)
	}
}

// SetUnavailable takes the store out of its readers' reach, as a server
// outage or a lost connection would: every open watch closes (as
// BreakWatches closes them), and until SetUnavailable(nil) every List and
// Watch call fails with err. Writes go on: the outage is between the store
// and those who list and watch it.
func (s *Store[T]) SetUnavailable(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unavailable = err
	if err == nil {
		return
	}
	for w := range s.watchers {
		s.lockedEndWatch(w, nil)
	}
}

// FailWatches ends every open watch with an Error event carrying err, then
// closes its channel. A nil err is taken as [controlloop.ErrExpired]'s
// wrapper, which tells the consumer to list again.
func (s *Store[T]) FailWatches(err error) {
	if err == nil {
		err = fmt.Errorf("memstore: watch failed: %w", controlloop.ErrExpired)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for w := range s.watchers {
		s.lockedEndWatch(w, err)
	}
}

// FailNextList makes the next call of List, whatever its page, return err.
// A nil err cancels a pending failure.
func (s *Store[T]) FailNextList(err error) {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	s.failList = err
}

// FailNextWatch makes the next call of Watch return err instead of a
// channel. A nil err cancels a pending failure.
func (s *Store[T]) FailNextWatch(err error) {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	s.failWatch = err
}

// takeFault returns and clears the failure *p, if one is pending.
func (s *Store[T]) takeFault(p *error) error {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	err := *p
	*p = nil
	return err
}

// ExpireHistory discards the whole history: every version older than the
// current one becomes expired, for watches and continue tokens alike. It is
// Compact at the current version.
func (s *Store[T]) ExpireHistory() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lockedCompact(s.rv)
}

// Compact discards the changes up to and including version rv, as etcd's
// compaction does: a later watch or continue token from an older version
// fails with [controlloop.ErrExpired]. Open watches that had yet to deliver
// a discarded change end with an Error event wrapping ErrExpired; the others
// are unaffected. Compacting to a version already discarded does nothing;
// rv must not be newer than the store's version nor malformed, or Compact
// returns an error wrapping [controlloop.ErrInvalid].
func (s *Store[T]) Compact(rv string) error {
	v, err := parseRV(rv)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if v > s.rv {
		return fmt.Errorf("memstore: compact: %w: version %d is newer than the store's %d", controlloop.ErrInvalid, v, s.rv)
	}
	s.lockedCompact(v)
	return nil
}

func (s *Store[T]) lockedCompact(rv uint64) {
	s.hist.dropThrough(rv)
	for w := range s.watchers {
		if w.next.Load() <= rv {
			s.lockedEndWatch(w, fmt.Errorf("memstore: watch at version %d: %w (compacted through %d)", w.next.Load()-1, controlloop.ErrExpired, rv))
		}
	}
	low := s.lockedOldestValid()
	s.snapshots = slices.DeleteFunc(s.snapshots, func(snap *snapshot[T]) bool { return snap.rv < low })
}
