// Package reconcile runs user code that brings the world in line with the
// desired state: a [Reconciler], called by a [Controller] for each request
// (by default an object's [controlloop.Key]) that its event sources enqueue.
//
// Reconciling is level-based: a request says "look at this object again",
// not what changed. The reconciler reads the whole current state, decides,
// and acts; an event missed or delivered twice costs work, not correctness.
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
//     When leadership is lost, reconciles in flight are cancelled at once,
//     since another replica may now act; event sources keep filling the
//     queue, so a replica that regains leadership starts warm.
//   - When Run's context ends, workers stop taking requests, reconciles in
//     flight get Options.ShutdownGracePeriod to finish, then their contexts
//     are cancelled, and Run returns once every worker has stopped.
//
// # Context
//
// Each reconcile's context carries a fresh reconcile id and a logger with the
// controller's name, the request and that id: see [ReconcileID] and
// [Logger]. Both are built only when asked for.
//
// # Cost
//
// The controller adds to the work queue's Get/Done cycle one allocation per
// reconcile (its context), the outcome handling, and the metrics if enabled;
// bench_test.go measures it against the bare queue.
package reconcile
