// Package reflector keeps a local store in step with a source of objects: it
// lists, then watches from the listed version, and writes what it sees into
// a [Store] (in the pipeline, the DeltaFIFO).
//
//	r, err := reflector.New[*Pod](source, fifo, reflector.Options{ResyncPeriod: time.Minute})
//	go r.Run(ctx) // returns nil once ctx is done and every call it made has ended
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
//	channel closed with no event        back off, then watch again from the last version *
//	Error event                         back off, then watch again from the last version *
//	Watch call failed (or no channel)   back off, then list again (and Replace)
//	anything wrapping ErrExpired        list again: at once, or after a backoff if
//	                                    the watch started from a fresh list and
//	                                    applied no event
//	List failed                         back off, then list again
//	continue token expired mid-list     list again at once in a single call
//	the Store returned an error         log it, back off, then list again (ErrStore)
//
// (*) without the backoff when the failure follows a success: a list, a
// watch that applied events, or one that ended cleanly. Such a watch is
// retried once at once, since most of these failures are one dropped
// connection and a backoff could outlast the source's history of the
// version; a second failure in a row backs off.
//
// The version a watch starts from is the last one an event carried, which
// the reflector cannot check: a Watch call that fails may be refusing it
// (malformed, or gone), so the reflector never retries the same watch
// forever, at the cost of a full list after a source that was unreachable.
// An expired version needs a list and nothing else, so that list does not
// wait out a backoff grown by earlier failures (an outage); only a watch
// from a fresh list that expires before applying an event backs off, so
// that a source that compacts faster than the reflector lists is not listed
// in a tight loop.
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
// # Health
//
// [Reflector.Health] says whether the reflector is keeping up with its
// source: the time the source last answered (a list page, a watch event or
// bookmark) and, while it fails, the error that ended the last list or
// watch and since when it has been failing. Every such error wraps one of
// [ErrList], [ErrWatch] and [ErrStore], so that a handler or a metric can
// tell them apart. A success clears the error. So does a watch that stays
// open for Options.BackoffReset without failing, the period after which
// the backoff starts over too: a quiet source is healthy as long as its
// watch is up, however old LastSuccess is, and a source that sends
// bookmarks (progress notifications) shows it is alive at each one. A
// source must therefore end a watch whose connection it has lost for its
// outage to show: with an Error event, or by closing the channel (which
// counts as a failure if the watch delivered nothing, and otherwise leads
// to a new Watch call, which fails while the source is unreachable).
//
// # Lifecycle and concurrency
//
// [New] starts nothing. [Reflector.Run] does all the work on the goroutine
// that calls it, so the store is never called concurrently by one
// reflector. It follows the module's lifecycle rule: it runs once (a second
// call returns an error wrapping controlloop.ErrAlreadyStarted), and it
// returns nil once its context is done and the call to the source or the
// store in progress has returned and the watch has been drained.
// LastSyncResourceVersion and Health are safe to call at any time.
package reflector
