// Package reconciletest runs a program's controllers against in-memory
// stores inside a testing/synctest bubble, for deterministic tests and
// for property tests under random faults: it is to package reconcile what
// net/http/httptest is to net/http.
//
// A [World] holds the test's stores ([NewStore]: a memstore store and a
// [Client] through which the system under test reads and writes it) and
// runs the program's [reconcile.Manager] ([World.Start]). [World.Steady]
// lets the system run until it is steady — no request queued, waiting or
// being reconciled in any of the Manager's controllers, every one of its
// caches caught up with its store — in virtual time, so that it returns at
// once whatever the delays, or reports, after Options.SteadyTimeout of
// virtual time, what keeps the system busy.
//
// # A deterministic test
//
// Build the program over the stores' Clients, start its Manager, write,
// wait until steady, and look:
//
//	func TestScaleUp(t *testing.T) {
//		synctest.Test(t, func(t *testing.T) {
//			w := reconciletest.New(t, reconciletest.Options{})
//			parents := reconciletest.NewStore[*Parent](w, "parents", memstore.Options{})
//			children := reconciletest.NewStore[*Child](w, "children", memstore.Options{})
//			// The program's own wiring: informers over the Clients,
//			// controllers with w.Logger() and w.Tracer(), all in m.
//			m := newManager(parents.Client(), children.Client(), w.Logger(), w.Tracer())
//			w.Start(m)
//
//			parents.Create(ctx, &Parent{ObjectMeta: controlloop.ObjectMeta{Name: "a"}, Replicas: 2})
//			if err := w.Steady(); err != nil {
//				t.Fatalf("%v\n%s", err, w.Trace())
//			}
//			if n := countChildren(children, "a"); n != 2 {
//				t.Fatalf("a has %d children, want 2", n)
//			}
//		})
//	}
//
// The test writes through the store itself (parents.Create: the embedded
// memstore), as someone outside the system would; the system writes
// through the Client, where faults are injected. The World stops the
// Manager when the test ends. ExampleWorld_Steady is such a test.
//
// # A property under faults
//
// [Check] runs a [Property] on random schedules, as rapid.Check does. Each
// schedule builds a fresh World and system (Setup), then takes random
// steps: the user's Actions, faults ([Faults]: broken and failing
// watches, expired and compacted history, failing lists, outages, write
// conflicts, write errors and lost replies, delayed and duplicated events,
// leadership changes), pauses of virtual time, and waits until steady. It
// checks the user's invariants: Always after every step and after every
// write the system makes through a Client, Invariant whenever the system
// is steady and at the end, once the faults have stopped.
//
//	func TestParentsProperty(t *testing.T) {
//		reconciletest.Check(t, reconciletest.Property[*system]{
//			Setup: func(t *rapid.T, w *reconciletest.World) *system { return newSystem(t, w) },
//			Actions: map[string]func(*rapid.T, *system){
//				"create": createParent,
//				"scale":  scaleParent,
//				"delete": deleteParent,
//			},
//			Always:    (*system).neverTooManyChildren,
//			Invariant: (*system).childrenMatchParents,
//		})
//	}
//
// ExampleCheck is this, whole. For leadership changes, give the Manager
// an elector of the World ([World.Elector]).
//
// # Failure reports and replay
//
// A schedule that fails is reported with the steps it drew (after rapid
// has shrunk it), the invariant's error, and the latest entries of the
// World's trace: the events the watches delivered, the writes through the
// Clients, the faults, and the reconciles and the library's warnings (with
// [World.Tracer] as the controllers' Options.Tracer and [World.Logger] as
// their Logger). rapid prints, with it, the -rapid.seed and
// -rapid.failfile that replay the schedule.
//
// # How many schedules
//
// rapid's flags set them: -rapid.checks schedules (100 by default) of
// about -rapid.steps steps (30); for example
//
//	go test -run '^TestParentsProperty$' -rapid.checks=1000 ./...
//
// Virtual time makes delays, backoffs and outages free: a schedule costs
// only the work the system does.
//
// # Determinism
//
// Time is virtual and each step ends with synctest.Wait, so that the next
// starts from a system at rest. Within a step, goroutines still interleave
// as the scheduler decides: a replay repeats the schedule's steps exactly,
// and what the system did almost always. A bug that depends on a race (a
// reconcile reading a cache its own write has not reached yet) is found
// all the same, since the faults make the race likely, but may not replay
// every time.
package reconciletest
