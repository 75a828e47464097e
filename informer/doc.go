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
//	pods := inf.Lister().ByNamespace("default")
//
// # Handlers
//
// A [Handler] receives OnAdd(obj, inInitialList), OnUpdate(old, new) and
// OnDelete(obj, finalStateUnknown), always with a T. Each registered handler
// has its own unbounded buffer and goroutine, so a slow or blocked handler
// never delays the cache or the other handlers; its backlog shows in
// [Registration.Pending], and [HandlerOptions.MaxBuffer] can bound it (then
// the informer waits for the handler). A handler that panics is recovered,
// logged and counted ([Registration.Panics]); the notification counts as
// delivered.
//
// A handler added while the informer runs first receives an add, marked
// initial, for every cached object. [Registration.HasSynced] reports when a
// handler has received its whole initial list; [Registration.Remove] stops
// it. [HandlerFuncs] adapts functions, and [FilteringHandler] narrows a
// handler to the objects a filter accepts.
//
// Resync periods are per handler ([HandlerOptions.ResyncPeriod]): when one
// is due, the cache is re-delivered to that handler as updates whose old and
// new objects are the same version. A relist that finds an object unchanged
// is delivered the same way, only to handlers whose resync is due.
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
// modify one. [Options.Transform] may trim objects before they are cached;
// it runs once per object delivered by the source.
//
// # Sharing
//
// A [Factory] shares one informer per object type and selector among the
// controllers of a program. [Lister] reads the cache without locks: readers
// never stall the informer's writes.
//
// # Lifecycle
//
// New and AddHandler start nothing. Run starts the reflector, the two
// processing stages (below), the resync timer and one goroutine per handler,
// and returns once all of them have stopped after ctx ends. An informer runs
// once.
//
// # Cost
//
// Changes are processed in two stages on two goroutines, so that a stream
// of changes keeps two cores busy: the first pops each key's deltas from the
// FIFO and resolves them (add or update, and the old object) against the
// informer's own map of the objects it has processed, which is also the
// FIFO's known objects; the second writes each change into the cache, then
// hands it to the handlers. A bounded queue joins them. The informer reports
// synced once the second stage has cached the first list.
//
// Side by side with client-go v0.37's SharedIndexInformer in bench/clientgo
// (same objects, from an in-memory source; benchstat of 6-8 interleaved
// runs on 2 cores; ratios are what matter, absolute times vary):
//
//	initial sync of 100k objects    1.5-1.7x faster; peak heap ~41 MB vs ~79 MB; 0.39M allocs vs 1.17M
//	watch events to a handler       2.6-2.8x the events/s; 2 allocs per event vs 11
//	writes with 10 namespace readers  >500x the writes/s (~160k/s vs ~300/s)
//
// The initial sync costs about as much CPU as client-go's: its lead comes
// from the second stage running on a second core, and shrinks when no core
// is free.
//
// Listing a namespace takes no lock (see package indexer), so readers never
// hold the informer's writes back.
package informer
