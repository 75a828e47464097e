// Package controlloop is the vocabulary of a library for writing control
// loops: the level-triggered "observe, diff, act" pattern that Kubernetes
// controllers use, for any system and any Go type, with no Kubernetes
// dependency.
//
// A control loop never acts on an event alone. It observes the current state
// of the world through a cache that a watch keeps fresh, compares it with the
// desired state, and acts to close the difference. Events only say which
// object to look at again; the decision is taken from the whole state each
// time, so a repeated event costs work, never correctness. A missed event
// costs work too: controllers re-examine every object a relist finds and,
// periodically, every cached object (package reconcile, "Level-triggered",
// states what this covers and what it costs).
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
//	reconcile/reconciletest  a program's controllers on memstore in a synctest bubble: steady-state waits, fault schedules
//	metrics      Prometheus implementations of the workqueue, controller and informer metrics
//	admission    mutating and validating functions in front of any Client, as webhooks do
//	sourcetest   the source contract as a conformance suite any List/Watch and Client backend runs
//	inspect      a read-only http.Handler: a live page and JSON of controllers, queues, keys and caches
//	examples/quickstart  the README's quick start, as a program
//	examples/replicaset  the runnable ReplicaSet scale-up loop
//
// # Lifecycles
//
// Every type in this module that has a Run method (reflectors, informers,
// factories, controllers, managers) follows one rule:
//
//   - A constructor starts nothing; Run starts the type's goroutines and
//     blocks until its context ends or the type fails for good.
//   - Run returns only after every goroutine it started has stopped, within
//     a bound that its doc states.
//   - Run runs once. A second call, while the first runs or after it has
//     returned, returns an error wrapping [ErrAlreadyStarted] at once and
//     leaves the first alone. Make a new value to run again.
//   - Run returns nil when it stopped because its context ended, and
//     otherwise the errors that stopped it. A Run that runs others (a
//     factory's informers, a manager's caches and controllers) returns every
//     error they returned, joined with [errors.Join]: none is dropped.
//
// # Contracts every package relies on
//
// Objects handed out by a cache are shared and read-only: copy before you
// change one. Stores copy objects on the way in and on the way out (package
// memstore's doc says exactly what its copy covers), so that changing an
// object after a write, or one that a read returned, does not change what
// the store holds.
//
// A resource version is an opaque string that a store stamps on every write.
// A watch from version v delivers every change after v, in order, with no gap;
// a version the store no longer holds yields [ErrExpired], and the consumer
// lists again. A source whose versions are ordered says so by
// implementing [VersionComparer], which also says which sources' versions
// can be compared (memstore: one store; etcd: one client's sources).
package controlloop
