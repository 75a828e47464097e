// Package shard shares one controller's work among N active replicas, each
// reconciling a disjoint share of the keys, with no coordinator beyond a
// shared store (etcd, through the etcd module's Coordinator; [Memory] in
// tests), so that no key is reconciled by two replicas at once and none is
// left unowned. Leader election gives failover; sharding gives capacity.
// It is opt-in per controller: singletons keep leader election.
//
// # Protocol
//
// Membership. Each replica runs a [Member] with a stable ID. It joins the
// ring through a [Session] bound to a lease, and watches the ring's
// members and claims ([View]).
//
// Slots. A key's slot is a 64-bit hash of Options.KeyFunc(key), modulo a
// fixed number of slots (Options.Slots, 1024 by default, stored once per
// ring): [SlotOf]. A KeyFunc may map a child to its parent so that they
// share one slot. A slot's desired owner is the rendezvous (highest random
// weight) winner among the members ([Owner]), computed from the member set
// of the coordinator's view, never from an object cache: adding or
// removing a member moves only the slots whose winner changed, to or from
// that member.
//
// Stabilisation. A member acts only on a member set that has stayed
// unchanged for Options.Window: churn within the window moves nothing, and
// a replica stopped cleanly and restarted with the same ID within it takes
// its own slots back.
//
// Claims. A member claims a free slot it should own with a create-if-absent
// write bound to its lease ([Session.Claim]); the claim's revision is the
// slot's epoch, the fencing token. A dead member's claims vanish with its
// lease: the safe path needs no timer.
//
// Handoff. When a member should no longer hold a slot, it stops admitting
// the slot's keys, waits for the slot's reconciles in flight to finish (at
// most Options.DrainTimeout), then deletes the claim with a write that
// compares the epoch ([Session.Release]). The new owner claims on seeing
// the delete. At most Options.MaxHandoffs slots drain at once.
//
// Admission. A Member is a reconcile.Admitter: event sources enqueue only
// keys of slots it holds, fresh and not draining ([Member.Admit]), and
// ownership is checked again when a worker takes a key ([Member.Begin]),
// which counts the slot's reconciles in flight.
//
// Fenced writes. A reconcile runs under a context carrying its claim's
// [Token]. A fenced client compares the token's epoch with the slot's
// current claim in the same transaction as each write: [FencedStore] over
// memstore with [Memory], the etcd module's sharded source on etcd. A
// refused write fails with [ErrFenced] and the slot counts as lost. The
// epoch is stronger than the lease: it also refuses a reconcile left over
// from an earlier claim by the same lease.
//
// Freshness. Before working a slot it has just claimed, a member waits,
// through Options.Fresh, until its cache has seen the claim's revision,
// then enqueues the slot's cached keys (Options.Keys).
//
// # Metrics
//
// With Options.Registerer set, each member exports, labelled ring and
// member: shard_owned_slots, shard_draining_slots, shard_unowned_slots
// (slots with no claim in its view; alarm when above 0 for longer than the
// lease TTL plus the window), shard_handoffs_total,
// shard_fenced_writes_total and shard_handoff_seconds.
//
// # Caches
//
// In this version every replica caches every object and filters at
// admission. A replica could instead watch only its own slots if the
// store indexed objects by slot (a slot label written on create, or a key
// prefix per slot): one watch per owned slot range, started on claim
// before the freshness wait and stopped after release.
//
// # Concurrency
//
// A Member's methods are safe for concurrent use. Run follows the module's
// lifecycle rule (see the controlloop package doc, "Lifecycles").
package shard
