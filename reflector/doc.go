// Package reflector keeps a local store in step with a source of objects: it
// lists, then watches from the listed version, and writes what it sees into
// a [Store] (in the pipeline, the DeltaFIFO).
//
//	r, err := reflector.New[*Pod](source, fifo, reflector.Options{ResyncPeriod: time.Minute})
//	go r.Run(ctx) // returns once ctx is done and every call it made has ended
//
// # Contract
//
// A [Reflector] lists every object its selector chooses, in pages of
// Options.PageSize, and hands the complete set to Store.Replace with the
// list's version. It then watches from that version and applies each event
// in order (Added to Store.Add, Modified to Store.Update, Deleted to
// Store.Delete), and remembers the version of the last one it applied;
// bookmarks advance that version without touching the store.
// [Reflector.LastSyncResourceVersion] reports it.
//
// # Recovery
//
// When a watch ends, the reflector reacts according to why:
//
//	channel closed after some events    watch again from the last version, at once
//	channel closed with no event        back off, then watch again from the last version
//	Watch call failed, Error event      back off, then watch again from the last version
//	... wrapping controlloop.ErrExpired back off, then list again (and Replace)
//	List failed                         back off, then list again
//	continue token expired mid-list     list again at once in a single call
//	the Store returned an error         log it, back off, then list again (ErrStore)
//
// Backoff is exponential: Options.InitialBackoff (800ms), doubled after each
// failure up to Options.MaxBackoff (30s), each delay lengthened by a random
// jitter of up to Options.Jitter times itself (1.0), and reset once
// Options.BackoffReset (2m) passes without a failure: the defaults of
// Kubernetes' client-go. Every error that ends a list or a watch goes to
// Options.WatchErrorHandler and to the logger.
//
// Every Options.ResyncPeriod, while it watches, the reflector calls
// Store.Resync, so that the store re-delivers what it holds.
//
// # Concurrency
//
// [New] starts nothing. [Reflector.Run] does all the work on the goroutine
// that calls it, so the store is never called concurrently by one
// reflector; Run returns once its context is done and the source's watch has
// been cancelled and drained. LastSyncResourceVersion is safe to call at any
// time.
package reflector
