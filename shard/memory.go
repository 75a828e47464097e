package shard

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/memstore"
)

// Memory is a [Coordinator] held in memory, with leases and epochs, for
// tests and for single-process programs: the protocol's properties run on
// it under testing/synctest, many members in one process. Its leases never
// expire on their own; [Memory.Freeze] stops a member's keepalives (its
// lease then ends TTL later) and [Memory.Kill] ends a lease at once, as a
// crash would. [Memory.Guard] fences memstore writes by the slot epochs it
// holds.
//
// Create one with [NewMemory]. Its methods are safe for concurrent use.
type Memory struct {
	ttl time.Duration

	mu    sync.Mutex // protects the fields below and every memSession's fields
	rev   int64
	rings map[string]*memRing
	// frozen are the members (ring, ID) whose keepalives are stopped: a
	// paused process makes no calls, so their Join, Claim and Release fail.
	frozen map[[2]string]bool
}

// MemoryOptions configure a [Memory] coordinator.
type MemoryOptions struct {
	// TTL is how long a lease outlives its last keepalive: the time a
	// frozen member keeps its claims. It must not be negative. Defaults to
	// 10 seconds.
	TTL time.Duration
}

// NewMemory returns an empty in-memory coordinator. Invalid options are
// refused with an error wrapping [controlloop.ErrInvalid].
func NewMemory(opts MemoryOptions) (*Memory, error) {
	if opts.TTL < 0 {
		return nil, invalid("MemoryOptions.TTL", opts.TTL, "must not be negative")
	}
	if opts.TTL == 0 {
		opts.TTL = 10 * time.Second
	}
	return &Memory{ttl: opts.TTL, rings: make(map[string]*memRing), frozen: make(map[[2]string]bool)}, nil
}

// memRing is one ring's state.
type memRing struct {
	name     string
	claims   []Claim
	members  map[string]*memSession // by ID, live sessions only
	sessions map[*memSession]struct{}
}

// memSession is a [Session] on a Memory; its fields are guarded by m.mu.
type memSession struct {
	m       *Memory
	ring    *memRing
	id      string
	done    chan struct{}
	changed chan struct{}
	ended   bool
	// expiry ends the lease while the member is frozen.
	expiry *time.Timer
}

// Join implements [Coordinator].
func (m *Memory) Join(ctx context.Context, ring, id string, slots int) (Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if id == "" || slots <= 0 {
		return nil, invalid("Join", fmt.Sprintf("(%q, %d slots)", id, slots), "needs an ID and a positive number of slots")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.frozen[[2]string{ring, id}] {
		return nil, errFrozen
	}
	r := m.rings[ring]
	if r == nil {
		r = &memRing{name: ring, claims: make([]Claim, slots), members: map[string]*memSession{}, sessions: map[*memSession]struct{}{}}
		m.rings[ring] = r
	}
	if len(r.claims) != slots {
		return nil, invalid("Join: slots", slots, fmt.Sprintf("ring %q has %d slots", ring, len(r.claims)))
	}
	if _, ok := r.members[id]; ok {
		return nil, fmt.Errorf("shard: join %q as %q: %w", ring, id, ErrMemberInUse)
	}
	s := &memSession{m: m, ring: r, id: id, done: make(chan struct{}), changed: make(chan struct{}, 1)}
	r.members[id] = s
	r.sessions[s] = struct{}{}
	m.lockedChanged(r)
	return s, nil
}

// lockedChanged makes a new revision of r and tells its sessions.
func (m *Memory) lockedChanged(r *memRing) {
	m.rev++
	for s := range r.sessions {
		select {
		case s.changed <- struct{}{}:
		default:
		}
	}
}

// lockedEnd ends s's lease: its member and claims vanish.
func (m *Memory) lockedEnd(s *memSession) {
	if s.ended {
		return
	}
	s.ended = true
	if s.expiry != nil {
		s.expiry.Stop()
	}
	r := s.ring
	delete(r.members, s.id)
	delete(r.sessions, s)
	for i, c := range r.claims {
		if c.Owner == s.id {
			r.claims[i] = Claim{}
		}
	}
	m.lockedChanged(r)
	close(s.done)
}

// session returns the live session of member id of ring, or nil.
func (m *Memory) lockedSession(ring, id string) *memSession {
	if r := m.rings[ring]; r != nil {
		return r.members[id]
	}
	return nil
}

// Kill ends the lease of member id of ring at once, as if its process had
// died and its lease run out: its member and claims vanish. It reports
// whether there was such a member.
func (m *Memory) Kill(ring, id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.lockedSession(ring, id)
	if s != nil {
		m.lockedEnd(s)
	}
	return s != nil
}

// errFrozen fails the calls of a frozen member.
var errFrozen = errors.New("shard: member frozen (Memory.Freeze)")

// Freeze stops the keepalives of member id of ring, as a paused process's
// stop: unless [Memory.Thaw] comes first, its lease ends TTL later. Until
// thawed, the member's Join, Claim and Release fail, as a paused process
// makes no calls. It reports whether the member had a live session.
func (m *Memory) Freeze(ring, id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.frozen[[2]string{ring, id}] = true
	s := m.lockedSession(ring, id)
	if s == nil {
		return false
	}
	if s.expiry == nil {
		s.expiry = time.AfterFunc(m.ttl, func() {
			m.mu.Lock()
			defer m.mu.Unlock()
			m.lockedEnd(s)
		})
	}
	return true
}

// Thaw restarts the keepalives of member id of ring: a lease that has not
// ended yet goes on. It reports whether the member's lease was still live.
func (m *Memory) Thaw(ring, id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.frozen, [2]string{ring, id})
	s := m.lockedSession(ring, id)
	if s == nil {
		return false
	}
	if s.expiry != nil {
		s.expiry.Stop()
		s.expiry = nil
	}
	return true
}

// View returns ring's state now, as any of its sessions would see it.
func (m *Memory) View(ring string) View {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lockedView(m.rings[ring])
}

func (m *Memory) lockedView(r *memRing) View {
	v := View{Revision: m.rev}
	if r == nil {
		return v
	}
	for id := range r.members {
		v.Members = append(v.Members, id)
	}
	slices.Sort(v.Members)
	v.Claims = slices.Clone(r.claims)
	return v
}

// Guard returns a memstore guard that fences each write by the claim whose
// [Token] the write's context carries (the context of a reconcile that a
// [Member] began): the write commits only while that claim is still the
// slot's current one, checked under m's lock together with the commit. A
// refused write fails with an error wrapping [ErrFenced], as does a write
// whose context carries no token, and the member that began the reconcile
// counts the slot as lost.
func (m *Memory) Guard() memstore.Guard {
	return func(ctx context.Context, commit func()) error {
		t, ok := TokenFrom(ctx)
		if !ok {
			return fmt.Errorf("%w (the write's context carries no slot claim)", ErrFenced)
		}
		m.mu.Lock()
		r := m.rings[t.Ring]
		current := r != nil && t.Slot >= 0 && t.Slot < len(r.claims) && r.claims[t.Slot] == Claim{Owner: t.Member, Epoch: t.Epoch}
		if current {
			commit()
		}
		m.mu.Unlock()
		if !current {
			return t.Refused()
		}
		return nil
	}
}

// FencedStore returns a client over store whose writes are fenced by m's
// claims, as [Memory.Guard] says.
func FencedStore[T controlloop.Object](store *memstore.Store[T], m *Memory) controlloop.Client[T] {
	return store.Guarded(m.Guard())
}

// Done implements [Session].
func (s *memSession) Done() <-chan struct{} { return s.done }

// Changed implements [Session].
func (s *memSession) Changed() <-chan struct{} { return s.changed }

// View implements [Session].
func (s *memSession) View() View {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	return s.m.lockedView(s.ring)
}

// Claim implements [Session].
func (s *memSession) Claim(ctx context.Context, slot int) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	r := s.ring
	switch {
	case s.m.frozen[[2]string{r.name, s.id}]:
		return 0, errFrozen
	case s.ended:
		return 0, fmt.Errorf("shard: claim slot %d: session ended", slot)
	case slot < 0 || slot >= len(r.claims):
		return 0, invalid("Claim: slot", slot, fmt.Sprintf("must be in [0, %d)", len(r.claims)))
	case r.claims[slot] != Claim{}:
		return 0, fmt.Errorf("shard: claim slot %d: %w by %s", slot, ErrClaimed, r.claims[slot].Owner)
	}
	s.m.lockedChanged(r)
	r.claims[slot] = Claim{Owner: s.id, Epoch: s.m.rev}
	return s.m.rev, nil
}

// Release implements [Session].
func (s *memSession) Release(ctx context.Context, slot int, epoch int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	r := s.ring
	if s.m.frozen[[2]string{r.name, s.id}] {
		return errFrozen
	}
	if slot >= 0 && slot < len(r.claims) && r.claims[slot] == (Claim{Owner: s.id, Epoch: epoch}) {
		r.claims[slot] = Claim{}
		s.m.lockedChanged(r)
	}
	return nil
}

// Close implements [Session].
func (s *memSession) Close(context.Context) error {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	s.m.lockedEnd(s)
	return nil
}
