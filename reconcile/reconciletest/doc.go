// Package reconciletest runs a program's controllers against in-memory
// stores inside a testing/synctest bubble, for deterministic tests and
// for property tests under random faults: reconciletest is to package
// reconcile what net/http/httptest is to net/http.
//
// A [World] holds the test's stores ([NewStore]: a memstore store, with
// a [Client] through which the system under test reads and writes) and
// runs the program's [reconcile.Manager] ([World.Start]). [World.Steady]
// lets the system run until it is steady — no request queued, waiting or
// being reconciled, every cache caught up with its store — in virtual
// time, so that it returns at once whatever the delays, or reports, after
// Options.SteadyTimeout of virtual time, what keeps the system busy.
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
//			m := newManager(parents.Client(), children.Client(), w.Logger(), w.Tracer())
//			w.Start(m)
//
//			parents.Create(ctx, &Parent{ObjectMeta: controlloop.ObjectMeta{Name: "a"}, Replicas: 2})
//			if err := w.Steady(); err != nil {
//				t.Fatal(err)
//			}
//			if n := countChildren(children, "a"); n != 2 {
//				t.Fatalf("a has %d children, want 2", n)
//			}
//		})
//	}
//
// The test writes through the store itself (parents.Create: the embedded
// memstore) as a user would; the system writes through its Client, where
// faults are injected. The World stops the Manager when the test ends.
//
// # A property under faults
//
// [Check] runs a [Property] over random schedules, as rapid.Check does:
// each schedule builds a fresh World and system (Setup), takes random
// steps — the user's Actions, faults (broken and failing watches, expired
// and compacted history, failing lists, outages, write conflicts and
// errors, delayed and duplicated events, leadership changes: see
// [Faults]), pauses of virtual time and waits until steady — and checks
// the user's invariants: Always after every step and after every write
// the system makes, Invariant whenever the system is steady and at the
// end, once the faults have stopped.
//
//	func TestParentsProperty(t *testing.T) {
//		reconciletest.Check(t, reconciletest.Property[*system]{
//			Setup: func(t *rapid.T, w *reconciletest.World) *system { return newSystem(w) },
//			Actions: map[string]func(*rapid.T, *system){
//				"create": func(t *rapid.T, s *system) { s.createParent(t) },
//				"scale":  func(t *rapid.T, s *system) { s.scaleParent(t) },
//				"delete": func(t *rapid.T, s *system) { s.deleteParent(t) },
//			},
//			Always:    (*system).neverTooManyChildren,
//			Invariant: (*system).childrenMatchParents,
//		})
//	}
//
// ExampleCheck is this, whole and runnable.
//
// # Failure reports and replay
//
// A schedule that fails is reported with the steps it drew (after rapid
// has shrunk it), the error, and the latest entries of the World's trace:
// the events each watch delivered, the writes through the Clients, the
// reconciles (with [World.Tracer] as the controllers' Options.Tracer) and
// the library's warnings (with [World.Logger] as their Logger). rapid
// prints, with it, the -rapid.seed and -rapid.failfile that replay the
// schedule.
//
// # How many schedules
//
// rapid's flags set them: -rapid.checks (100 by default) schedules of
// about -rapid.steps (30) steps; for example
//
//	go test -run TestParentsProperty -rapid.checks=1000 ./...
//
// Virtual time makes delays, backoffs and outages free: a schedule costs
// only the work the system does.
//
// # Determinism
//
// Time is virtual and every step ends with synctest.Wait, so that it
// starts from a system at rest; goroutines still interleave as the
// scheduler decides within a step, so a replay repeats the schedule
// exactly and, almost always, what the system did.
package reconciletest
