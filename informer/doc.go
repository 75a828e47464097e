// Package informer keeps a local cache of the objects a source holds and
// tells any number of handlers about every change: Kubernetes' shared
// indexed informer, typed.
//
// An [Informer] wires a reflector (List, then Watch, relisting when its
// version expires), a delta FIFO (one slot per object with its accumulated
// changes) and an indexer (the cache, indexed by namespace and by your own
// index functions). Changes are applied to the cache first, then handed to
// each handler.
//
//	inf, err := informer.New[*Pod](store, informer.Options[*Pod]{})
//	reg, err := inf.AddHandler(informer.HandlerFuncs[*Pod]{AddFunc: ...}, informer.HandlerOptions{})
//	go inf.Run(ctx)
//	err = informer.WaitForCacheSync(ctx, reg.HasSynced)
//	pods := inf.Reader().List(controlloop.Selector{Namespace: "default"})
//
// # Handlers
//
// A [Handler] receives OnAdd(obj, inInitialList), OnUpdate(old, new) and
// OnDelete(obj, finalStateUnknown), always with a T. Each registered handler
// has its own unbounded buffer and goroutine, so a slow or blocked handler
// never delays the cache or the other handlers; its backlog shows in
// [Registration.Pending], and [HandlerOptions.MaxBuffer] can bound it (then
// the informer waits for the handler, holding no lock a handler's call
// needs). A callback may call
// any method of the informer or of a registration, its own included,
// without deadlock. A handler that panics is recovered, logged and counted
// ([Registration.Panics]); the notification counts as delivered.
//
// A handler added while the informer runs first receives an add, marked
// initial, for every cached object. [Registration.HasSynced] reports when a
// handler has received its whole initial list; [Registration.Remove] stops
// it. [HandlerFuncs] adapts functions, and [FilteringHandler] narrows a
// handler to the objects a filter accepts.
//
// Resync periods are per handler ([HandlerOptions.ResyncPeriod]; the
// reflector's own ResyncPeriod must stay zero): when one is due, the cache
// is re-delivered to that handler alone as updates whose old and new
// objects are the same version, after every change the cache held before
// (no change is applied while a resync is delivered); [Registration.Resync]
// asks for one such resync, soon (after any resync being delivered). A relist that finds an object
// unchanged reaches only the handlers registered with
// [HandlerOptions.ResyncOnRelist], which get every listed object, as a
// controller that wants to look at everything again after a relist needs.
// A handler that is also a [RelistHandler] is told which is which: a relist's
// unchanged objects come to its OnRelist, resyncs to its OnUpdate; and its
// OnRelistDone comes after each relist's notifications, so that it can look
// again at what a change missed while the watch was down may have touched.
//
// # Consistency
//
// After any sequence of changes, broken watches, expired versions and
// failing lists, once the source is quiet and reachable, the cache equals
// the source and replaying each handler's notifications yields the same
// set; a deletion the informer missed while its watch was down reaches
// handlers as a delete with finalStateUnknown. Property tests check this
// against the in-memory store under random faults.
//
// Objects in the cache are shared with every reader and handler: never
// modify one; modify a DeepCopy. [Options.MutationDetector] (or
// CONTROLLOOP_MUTATION_DETECTOR=1, [MutationDetectorEnv]) reports the first
// modification of a cached object, with its key and field path, in tests. [Options.Transform] may trim objects before they are cached;
// it runs once per object delivered by the source.
//
// # Applied version
//
// [Informer.AppliedVersion] is the newest version of the source the cache
// has applied: the list's, each watch event's, and each bookmark's, once
// everything before it is in the cache. The reflector tells the FIFO the
// version after each write (reflector.ProgressStore); a batch that takes
// every queued key carries it, and a bookmark with nothing queued wakes
// the informer with an empty batch. With it comes a channel closed at the
// next advance, so that a waiter ([WaitUntil], or package reconcile's
// stale-cache gating) needs no polling. Whether one version is newer than
// another only the source can say: [Informer.Versions].
//
// # Sharing
//
// A [Factory] shares one informer per object type and selector among the
// controllers of a program; every [Shared] call for a type and selector must
// pass the same source. A [Reader] reads the cache (package indexer)
// without taking any lock: the informer publishes each batch of changes
// when it has written it, so a read never waits for the informer, not even
// while it applies a relist.
//
// # Health
//
// [Informer.Health] tells a readiness probe or an alert whether the cache
// is keeping up with its source: the time the source last answered (a list
// page, a watch event or bookmark), the error the informer is failing with
// and since when, and whether the cache holds the first list. During an
// outage the cache stays synced and keeps serving what it last saw, while
// Health reports the error; it is cleared once the source answers again, or
// once a watch has stayed up for the reflector's BackoffReset (2m): a quiet
// source with a live watch is healthy, however long since its last change
// (see package reflector, "Health"). [Options.Metrics] exports the same
// (package metrics implements it for Prometheus), and
// Options.Reflector.WatchErrorHandler sees each failure as it happens.
// [Informer.Ready] and [Factory.Ready] answer a readiness probe with nil or
// the reason (not synced, or the error it fails with); a reconcile.Manager
// asks its caches through its own Ready.
//
// # Lifecycle
//
// New and AddHandler start nothing. Run starts the reflector, the resync
// timer and one goroutine per handler, processes changes on its own
// goroutine (below), and returns once all of them have stopped after ctx
// ends: nil, or the error that stopped the reflector. Informer.Run and
// Factory.Run run once: a second call returns an error wrapping
// controlloop.ErrAlreadyStarted. Factory.Run returns every error of its
// informers, joined. Each Run's doc states how long it may take to return
// once ctx ends.
//
// # What runs
//
// One change goes: source -> reflector (List, then Watch) -> FIFO (one
// slot per key, its deltas accumulated) -> Run's goroutine, which pops
// every queued key at once and writes their deltas into the indexer in one
// transaction -> the handlers' buffers -> each handler's goroutine. Each
// indexer write returns the object it replaced, which tells an add from an
// update and gives the update its old object: the indexer is the one
// cache, and also the FIFO's known objects (for the deletions a relist
// infers). The transaction publishes the batch when it
// ends; only then are its notifications buffered, so a handler that reads
// the cache finds at least the change it is told about. The informer
// reports synced once the first list has been written and buffered.
//
// # Cost
//
// A batch pays once for the indexer's copy of the trie nodes it changes
// and for the FIFO's locking, so an initial list is written in place, in
// one batch; an update that changes no index value writes its object in
// place. A bounded handler buffer ([HandlerOptions.MaxBuffer]) that is full
// holds the cache back: it runs at most one batch (the keys queued when the
// batch was popped) ahead of what that handler holds.
//
// BenchmarkInformerInitialSync100k, BenchmarkInformerEventThroughput and
// BenchmarkInformerWritesWith10Readers in bench/clientgo compare the
// informer with client-go's SharedIndexInformer on the same objects.
package informer
