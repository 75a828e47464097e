package reconciletest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/memstore"
)

// Store is a memstore store in a [World], with the kit's faults around
// it. Its embedded *memstore.Store is the store itself: the test writes
// through it as "someone else" (no injected fault, no invariant check), and
// its fault methods (BreakWatches, SetUnavailable, FailWatches,
// FailNextList, FailNextWatch, ExpireHistory, Compact) act on every
// reader. The system under test reads and writes through [Store.Client],
// where the kit's own faults apply.
//
// A Store is safe for concurrent use.
type Store[T controlloop.Object] struct {
	*memstore.Store[T]
	w      *World
	name   string
	client *Client[T]

	mu sync.Mutex // protects the fields below
	// conflicts, failures and lost count the writes still to fail.
	conflicts, failures, lost int
	duplicates                int   // events still to deliver twice
	hold                      *hold // the delay in force, nil if none
	outage                    *time.Timer
}

// hold is a delay of a store's events: watches deliver nothing before
// until, or before released is closed.
type hold struct {
	until    time.Time
	released chan struct{}
}

// NewStore returns a new, empty store named name (for traces and
// reports) in w, made with opts (see memstore.Options; small HistorySize
// and MaxWatchLag make expiry likelier). It fails the test on invalid
// options.
func NewStore[T controlloop.Object](w *World, name string, opts memstore.Options) *Store[T] {
	w.t.Helper()
	ms, err := memstore.New[T](opts)
	if err != nil {
		w.t.Fatalf("reconciletest: NewStore %s: %v", name, err)
		return nil
	}
	s := &Store[T]{Store: ms, w: w, name: name}
	s.client = &Client[T]{s: s}
	w.mu.Lock()
	w.stores = append(w.stores, s)
	w.mu.Unlock()
	return s
}

// Name returns the store's name.
func (s *Store[T]) Name() string { return s.name }

// Client returns the system's way to the store: a [controlloop.Client]
// and [controlloop.ListerWatcher] (with the store's ordered versions)
// through which the kit injects write failures and delays or duplicates
// events. Build the system's informers and clients on it.
func (s *Store[T]) Client() *Client[T] { return s.client }

// ConflictWrites makes the next n updates through the Client (Update,
// UpdateStatus, and deletes with a version precondition) fail with an
// error wrapping [controlloop.ErrConflict] and [ErrInjected], writing
// nothing, as if someone else had written first. n <= 0 cancels.
func (s *Store[T]) ConflictWrites(n int) { s.set(&s.conflicts, n) }

// FailWrites makes the next n writes through the Client fail with an
// error wrapping [ErrInjected], writing nothing. n <= 0 cancels.
func (s *Store[T]) FailWrites(n int) { s.set(&s.failures, n) }

// LoseReplies makes the next n writes through the Client take effect but
// return an error wrapping [ErrInjected], as a timeout after the server
// applied the write does. n <= 0 cancels.
func (s *Store[T]) LoseReplies(n int) { s.set(&s.lost, n) }

// DuplicateEvents makes the next n events (other than bookmarks and
// errors) that watches through the Client deliver arrive twice. n <= 0
// cancels.
func (s *Store[T]) DuplicateEvents(n int) { s.set(&s.duplicates, n) }

// DelayEvents holds every watch through the Client for d: events written
// meanwhile arrive, in order, once d has passed. A later DelayEvents
// replaces the hold, for the events already held too; d <= 0 releases
// them.
func (s *Store[T]) DelayEvents(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hold != nil {
		close(s.hold.released)
		s.hold = nil
	}
	if d > 0 {
		s.hold = &hold{until: time.Now().Add(d), released: make(chan struct{})}
	}
}

// Outage makes the store unavailable to its readers for d (see
// memstore's SetUnavailable): every watch breaks, and List and Watch fail
// until d has passed. d <= 0 ends an outage at once.
func (s *Store[T]) Outage(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.outage != nil {
		s.outage.Stop()
		s.outage = nil
	}
	if d <= 0 {
		s.Store.SetUnavailable(nil)
		return
	}
	s.Store.SetUnavailable(fmt.Errorf("%s unavailable: %w", s.name, ErrInjected))
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.outage == t { // not ended or replaced meanwhile
			s.outage = nil
			s.Store.SetUnavailable(nil)
		}
	})
	s.outage = t
}

// Heal ends every fault in force on the store: pending write failures,
// duplicates, delays, an outage, and memstore's pending list and watch
// failures.
func (s *Store[T]) Heal() {
	s.mu.Lock()
	s.conflicts, s.failures, s.lost, s.duplicates = 0, 0, 0, 0
	s.mu.Unlock()
	s.DelayEvents(0)
	s.Outage(0)
	s.Store.FailNextList(nil)
	s.Store.FailNextWatch(nil)
}

func (s *Store[T]) set(p *int, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	*p = max(n, 0)
}

// take decrements *p if it is positive and reports whether it did.
func (s *Store[T]) take(p *int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if *p <= 0 {
		return false
	}
	*p--
	return true
}

// waitHold waits while a hold is in force. A hold replaced by a new
// DelayEvents releases its waiters, which then wait for the new one, so
// that an event held stays held until the latest hold ends. It returns
// false if ctx ended first.
func (s *Store[T]) waitHold(ctx context.Context) bool {
	for {
		s.mu.Lock()
		h := s.hold
		s.mu.Unlock()
		if h == nil {
			return true
		}
		d := time.Until(h.until)
		if d <= 0 {
			return true
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
			return true
		case <-h.released: // ended or replaced: look again
			t.Stop()
		case <-ctx.Done():
			t.Stop()
			return false
		}
	}
}

// The World's view of its stores, whatever their type.

func (s *Store[T]) storeName() string     { return s.name }
func (s *Store[T]) scope() string         { return s.Store.VersionScope() }
func (s *Store[T]) version() string       { return s.Store.ResourceVersion() }
func (s *Store[T]) requestProgress()      { s.Store.RequestProgress() }
func (s *Store[T]) heal()                 { s.Heal() }
func (s *Store[T]) atLeast(v string) bool { return atLeast(s.Store, v, s.version()) }

// store is a World's view of a Store of any type.
type store interface {
	storeName() string
	scope() string
	version() string
	requestProgress()
	heal()
	// atLeast reports whether version v has reached the store's current version.
	atLeast(v string) bool
	faults(set Faults) []fault
}

// atLeast reports whether v is at least want, in versions' order; a
// version that does not compare counts as behind.
func atLeast(versions controlloop.VersionComparer, v, want string) bool {
	if v == "" {
		return false
	}
	c, err := versions.CompareVersions(v, want)
	return err == nil && c >= 0
}

var _ store = (*Store[*controlloop.ObjectMeta])(nil)
