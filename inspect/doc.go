// Package inspect serves a live, read-only view of a program's control
// loops over HTTP: for each controller its queue (which keys are queued,
// waiting until when, processing since when, how often retried), each
// key's last reconcile (why it ran, its outcome and error, how long it
// took), its bindings' startup progress, and each cache's sync and health.
//
// A [Handler] is opt-in: nothing serves it unless the program mounts it.
// It serves a small HTML page at its root (embedded, no external assets),
// which refreshes itself once a second and filters keys by state, failure
// and namespace, and the JSON document behind it at api/v1/state, whose
// schema is [State] (versioned by [SchemaVersion]; the same filters as
// query parameters: state, error, namespace, controller).
//
//	h, err := inspect.New(inspect.Options{})
//	inspect.AddController(h, ctl)   // a reconcile.Controller, Options.Introspect for per-key state
//	inspect.AddInformer(h, inf)
//	mux.Handle("/debug/controlloop/", http.StripPrefix("/debug/controlloop", h))
//
// # What it shows, and what not
//
// It answers GET and HEAD only, and changes nothing. Of an object it shows
// the key only, never its contents; of a cache, whether it synced and is
// healthy, not the source's errors. It does show the text of reconcile
// errors: a reconciler should not put secrets in its errors (nor in logs).
// Serve it where /metrics is served, behind the same access control.
//
// # Cost
//
// Each answer takes one snapshot of each controller's queue (O(items)
// under the queue's lock, see [workqueue.Queue.Snapshot]) and copies its
// key-state table (O(keys)); it lists at most Options.MaxKeys keys per
// controller. The page asks once a second per open tab.
package inspect
