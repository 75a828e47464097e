// Package controlloop is the vocabulary of a library for writing control
// loops: the level-triggered "observe, diff, act" pattern that Kubernetes
// controllers use, for any system and any Go type, with no Kubernetes
// dependency.
//
// A control loop never acts on an event alone. It observes the current state
// of the world through a cache that a watch keeps fresh, compares it with the
// desired state, and acts to close the difference. Events only say which
// object to look at again; the decision is taken from the whole state each
// time, so a missed or repeated event costs work, never correctness.
//
// # The pieces
//
// A user brings three things: a typed object (a Go struct that embeds
// [ObjectMeta]), a source that can List and Watch it (a [ListerWatcher]; the
// in-memory store in package memstore, or etcd through the nested etcd
// module), and a Reconciler (package reconcile). The library supplies the
// machinery between them:
//
//	source (memstore | etcd) --List/Watch--> reflector --Add/Update/Delete/Replace--> deltafifo
//	deltafifo --Pop(Deltas)--> informer: update indexer, then fan out to each handler
//	handler (e.g. enqueue the owner's key) --Add(key)--> workqueue --Get--> worker
//	worker --Reconcile(ctx, key)--> user code: read from the cache, write to the source
//	the write comes back as a watch event: the loop closes
//
// # Packages
//
//	controlloop  this package: Object, ObjectMeta, Key, the List/Watch and Client contracts, errors
//	memstore     an in-memory, versioned store serving List/Watch; the default backend and test fixture
//	reflector    List, then Watch from the listed version; relist when the version has expired
//	deltafifo    a per-key queue of accumulated changes: one slot per object
//	indexer      a thread-safe cache with a namespace index and user-defined indexes
//	informer     reflector + deltafifo + indexer, with any number of event handlers and typed listers
//	workqueue    a deduplicating, delaying, rate-limited, prioritised work queue
//	reconcile    the Reconciler interface and the Controller that runs workers over a workqueue
//	metrics      Prometheus implementations of the workqueue and controller metrics
//	admission    mutating and validating functions in front of any Client, as webhooks do
//	examples/replicaset  the runnable ReplicaSet scale-up loop
//
// # Contracts every package relies on
//
// Objects handed out by a cache are shared and read-only: copy before you
// change one. Stores copy objects on the way in and on the way out, so a
// caller's mutation can never corrupt them.
//
// A resource version is an opaque string that a store stamps on every write.
// A watch from version v delivers every change after v, in order, with no gap;
// a version the store no longer holds yields [ErrExpired], and the consumer
// lists again.
package controlloop
