package shard

import "context"

// A Coordinator is the shared store the members of a ring coordinate
// through: etcd in production (the etcd module's Coordinator), [Memory] in
// tests. It keeps, per ring, a config (the number of slots, fixed once),
// the members, each bound to its session's lease, and the claims of slots.
type Coordinator interface {
	// Join opens a session for member id of ring: it grants a lease, keeps
	// it alive, and registers the member under it. slots is the number of
	// slots the member expects; the first member to join a ring stores it
	// in the ring's config, and a Join with another number fails with an
	// error wrapping [controlloop.ErrInvalid]. Join fails, rather than
	// waiting, if id is already a member under a live lease.
	Join(ctx context.Context, ring, id string, slots int) (Session, error)
}

// A Session is one member's registration in a ring, bound to a lease. When
// the lease ends (Close, or keepalives that stop arriving in time) the
// member and all its claims vanish from the ring together, and Done is
// closed. Its methods are safe for concurrent use.
type Session interface {
	// Done is closed once the session's lease has ended.
	Done() <-chan struct{}
	// Changed receives a value (it never blocks the sender: changes
	// coalesce) whenever the ring's members or claims may have changed
	// since the last View.
	Changed() <-chan struct{}
	// View returns the ring's members and claims at one revision, as the
	// session last saw them. The caller owns the result.
	View() View
	// Claim claims slot for this session, if no one holds it, in one
	// create-if-absent write bound to the session's lease, and returns the
	// claim's epoch: the write's revision, which only rises. A slot held
	// already fails with an error wrapping [ErrClaimed].
	Claim(ctx context.Context, slot int) (epoch int64, err error)
	// Release deletes the claim of slot if it still has this epoch, in one
	// compare-and-delete; a claim that is gone or has another epoch is left
	// alone, and Release returns nil.
	Release(ctx context.Context, slot int, epoch int64) error
	// Close ends the session: its member and claims vanish. It is safe to
	// call more than once.
	Close(ctx context.Context) error
}

// Claim is a slot's claim: the member that holds it and the claim's epoch.
// The zero Claim means the slot is unclaimed.
type Claim struct {
	Owner string
	// Epoch is the revision at which the claim was made: the fencing token
	// of every write made under it.
	Epoch int64
}

// View is a ring's state at one revision.
type View struct {
	// Revision is the coordinator's revision the view reflects.
	Revision int64
	// Members are the IDs of the members with a live session, sorted.
	Members []string
	// Claims holds the claim of each slot, indexed by slot; its length is
	// the ring's number of slots. Until a session has first read the ring
	// its View is the zero View: no members and no claims, so check the
	// length before indexing.
	Claims []Claim
}
