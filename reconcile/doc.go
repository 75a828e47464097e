// Package reconcile runs user code that brings the world in line with the
// desired state: a [Reconciler], called by a [Controller] for each request
// (by default an object's [controlloop.Key]) that its event sources enqueue.
//
// Reconciling is level-based: a request says "look at this object again",
// not what changed. The reconciler reads the whole current state, decides,
// and acts; an event delivered twice costs work, not correctness, and so
// does a missed one, within the limits "Level-triggered" states.
//
// A program binds each controller to the informers it reads with [Watch]
// (mapping events to requests: [ForObject], [ForOwner]) and runs caches and
// controllers together with a [Manager], which also holds the leader
// election; ExampleManager shows the whole loop. Controller.Run and
// Manager.Run follow the module's lifecycle rule (see the controlloop
// package doc, "Lifecycles"): they run once, and return nil when their
// context ended. [Manager.Ready] answers a readiness probe: nil once every
// informer the Manager runs has synced and none is failing to list or watch
// its source (package informer, "Health").
//
// # Outcomes
//
// What the controller does with each return of Reconcile:
//
//	return                                   controller does                       result label
//	Result{}, nil                            Forget: the request's backoff resets  success
//	Result{RequeueAfter: d}, nil             Forget, then add again after d        requeue_after
//	_, err                                   add again, rate limited (backoff)     error
//	_, TerminalError(err)                    Forget; never retried                 error (+ terminal)
//	panic                                    recovered, logged; as an error        error (+ panic)
//
// An error wins over RequeueAfter: with a non-nil error the result is
// ignored, except its Priority, which every requeue uses. A reconcile that
// outlives Options.Timeout has its context cancelled and is counted as a
// timeout whatever it returns.
//
// # Guarantees
//
//   - A request is never reconciled by two workers at once, with any number
//     of workers; a request added during its reconcile runs again after it.
//   - Run starts no worker before every cache the controller reads from has
//     synced (its event sources register them), and fails with
//     [ErrCacheSyncTimeout] if they do not sync in time.
//   - Workers run only while the [LeaderElector] says this replica leads.
//     Leadership belongs to the [Manager]: it campaigns once, with
//     Manager.LeaderElector, for all the controllers it runs that have no
//     elector of their own, and they lead together and lose together. An
//     elector is one candidate: a second Lead of it while the first
//     campaigns or leads fails with [ErrElectorInUse], and Run returns that
//     error. When leadership is lost, reconciles in flight are cancelled at
//     once, since another replica may now act; event sources keep filling
//     the queue, so a replica that regains leadership starts warm.
//   - When Run's context ends, workers stop taking requests, reconciles in
//     flight get Options.ShutdownGracePeriod to finish, then their contexts
//     are cancelled, and Run returns once every worker has stopped, or
//     with [ErrShutdownTimeout] min(ShutdownGracePeriod, 1s) after the
//     cancel (after a loss of leadership, the cancel comes at once): Run's
//     stop is always bounded.
//
// # Level-triggered
//
// Events can be missed: a child written while its informer's watch was
// down and deleted before the relist is seen by no handler, and a Mapper
// or Predicate can panic. Every binding made with [Watch] therefore
//
//   - treats a relist as a resync: every object the informer's relist
//     finds (after its watch expired or failed) is mapped again, an
//     unchanged one as a resync, at the controller's LowPriority; once
//     the relist is done, every other binding of the controller resyncs
//     (its informer's cache, mapped again at LowPriority), since a change
//     missed while the watch was down may matter to a request no listed
//     object maps to: a parent whose only child was created and deleted
//     in the gap;
//   - resyncs: every object in the informer's cache is delivered again
//     about once per Options.SyncPeriod (each binding draws its period
//     from 90% to 100% of it; 10 hours by default), mapped and enqueued at
//     LowPriority, so that real changes go first;
//   - retries a mapping that panicked: the panic is recovered and logged,
//     and the same notification is mapped again after a per-object backoff
//     (5ms doubling to 1000s) until it maps or Run has returned.
//
// So once the sources are quiet and reachable, every object is reconciled
// against the state the caches then hold within one SyncPeriod (after the
// retries of a panicking mapping have succeeded); TestLevelTriggered checks
// this for a parent -> children controller under random store faults,
// reconcile and mapping failures and writes by others. The cost: for each
// relist of any of the controller's informers, every object in its caches
// is mapped again and the requests enqueued at low priority (the queue
// holds a request once, however many objects map to it), and so is every
// watched object once per SyncPeriod. Shorten SyncPeriod to heal faster,
// lengthen it, or set it to [NoSync] to reconcile less: relists alone then
// heal what events missed (TestMissedChildIsHealedByRelist,
// TestOnlyChildMissedIsHealedByRelist), and nothing catches what no event
// reports, such as state outside the caches. Predicates apply to resyncs too:
// one that drops updates whose version did not change
// ([ResourceVersionChanged], [GenerationChanged]) drops that binding's
// resyncs, and with them this guarantee.
//
// # Read your own writes
//
// A reconcile that writes an object at version V may be followed by the
// next reconcile of the same request before the informer has seen V: on
// that stale cache it would act twice (a second child, its own status
// write undone). Writes made through a client wrapped with [TrackWrites],
// with the reconcile's context, are recorded for the reconcile's request;
// before that request is reconciled again, the controller checks that
// every cache it reads (the informers bound with [Watch]) of the written
// object's type, whose source shares the write's version scope, has
// applied V
// (informer.Informer.AppliedVersion). If one has not, the request is put
// off: not a failure (its backoff is untouched, nothing is logged at error
// level), and added again as soon as the caches advance past V, woken by
// their advance (no polling), or after Options.StaleCacheTimeout (10s by
// default), when it is reconciled anyway with a warning.
// TestReadYourOwnWrites checks, over a store whose watch lags by random
// delays, that no reconcile reads its object older than its own request's
// earlier write; with the gating off the same worlds do.
//
// Decisions:
//   - The gating is on by default wherever it can work: for writes through
//     a TrackWrites client to a source whose versions are ordered
//     ([controlloop.VersionComparer]: memstore, etcd), checked against the
//     caches of the same scope. Versions of other scopes are not compared,
//     and caches of unordered sources never hold a request back. Set
//     Options.StaleCacheTimeout to [NoStaleCacheGating] to turn it off.
//   - Deletes are not tracked: Client.Delete returns no version.
//   - A cache's version moves only with the changes its watch delivers
//     (and its bookmarks). So the gating waits only on caches of the
//     written type: in etcd, where a write to one prefix advances the
//     revision of all, a cache of another prefix would otherwise wait for
//     a change of its own. For the same reason, an informer whose
//     selector excludes the written object, over a source that sends no
//     bookmarks, holds the request until the timeout: bind the
//     controller to informers that see what it writes.
//   - Only the newest write per request, scope and type is kept, until the next
//     reconcile of the request finds the caches caught up; the cost is one
//     lock and a map lookup per reconcile, and a version comparison per
//     recorded write: BenchmarkStaleCacheGating compares it with the gating
//     off.
//   - Metrics, with the names of Kubernetes' stale controller handling:
//     see [StaleCacheMetrics] and package metrics.
//
// # Waiting until reconciled
//
// [Controller.WaitUntilReconciled] lets a caller write desired state and
// wait until the controller has acted on it: it returns once a reconcile
// of the request that read the cache at the write's version (or newer)
// has succeeded. Versions are those of the controller's primary cache,
// the first informer with ordered versions bound with Watch. The
// controller notes, when each reconcile starts, the version that cache has
// applied: what the reconcile reads is at least that. The wait returns a
// terminal error of such a reconcile at once, and when its context ends,
// the context's error joined with the newest failure, so that a caller
// whose reconciles keep failing learns why. [WaitUntilAllReconciled] waits
// for every object at or below a version. TestWaitUntilReconciled checks,
// under random writes and failures, that a wait never returns before such
// a success and always returns after one. The controller keeps, per
// request it has reconciled, the versions of its newest success and
// failure, for up to 65,536 requests besides those waited for
// (TestWaitUntilReconciledForgetsWithinBound: the bound holds, and a
// request waited for is not forgotten); past that it forgets some, and a
// wait for a forgotten request returns at its next successful reconcile.
//
// For status.observedGeneration, [MarkObserved] publishes "I have acted
// on generation G" in one line, and [WaitObserved] waits for it through
// the cache.
//
// # Context
//
// Each reconcile's context carries a fresh reconcile id and a logger with the
// controller's name, the request and that id: see [ReconcileID] and
// [Logger].
//
// # Cost
//
// Over the work queue's Get/Done cycle, the controller adds per reconcile
// its context, the outcome handling, and the metrics if enabled:
// BenchmarkController, against BenchmarkBareQueue in bench_test.go,
// measures that overhead.
//
// # Introspection
//
// With Options.Introspect a controller answers "what is it doing, and why":
//
//   - why each request ran ([Reason]): the first trigger since its last
//     reconcile started — an informer event (add, update, delete; from the
//     initial list, a resync, or a relist's inferred delete; mapped to the
//     object itself, an owner, or otherwise), a retry after an error, a
//     RequeueAfter, or a direct add to the queue. Reasons live in a side
//     table keyed by the request; the queue's items stay the bare request.
//     The reason is in the reconcile's [Logger] (reason=...), in
//     [ReasonOf], in the key's state, and counted by [ReasonMetrics];
//   - per request, its last reconcile ([Controller.KeyStates]): reason,
//     outcome, error, start, duration, retries, in a table bounded by
//     Options.KeyStates ([DefaultKeyStates]), least recently reconciled
//     dropped first;
//   - startup progress ([Controller.Bindings]): each binding's cache sync
//     and initial-list delivery, which Run waits for within
//     Options.CacheSyncTimeout and then Options.HandlerSyncTimeout;
//   - the queue's items ([workqueue.Queue.Snapshot] on [Controller.Queue]).
//
// Package inspect serves all of it over HTTP. It adds no allocation per
// reconcile once the tables hold the keys, and about twice the controller's own time per
// reconcile (BenchmarkIntrospection, on against off, with a reconciler
// that does nothing: a map lookup and an LRU move per reconcile, a side
// table entry per enqueue, two clock reads in the queue). Bindings and the
// sync deadlines work without Introspect.
//
// # Tracing
//
// Options.Tracer receives one span per reconcile (controller, request,
// reconcile id, reason, retries; then outcome and error), and
// [TracedClient] one per write made within it, as its child. The module
// github.com/controlloop/controlloop/otel adapts OpenTelemetry.
package reconcile
