package reconciletest_test

import (
	"context"
	"flag"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/reconcile/reconciletest"
	"pgregory.net/rapid"
)

// asTest runs f as a test named name would run, and reports whether it
// passed. An Example has no *testing.T, which synctest.Test and Check
// need; a real test calls them with its own t. (-test.v is off meanwhile,
// so that the run's own progress lines stay out of the Example's output.)
func asTest(name string, f func(t *testing.T)) bool {
	v := flag.Lookup("test.v")
	old := v.Value.String()
	_ = v.Value.Set("false")
	defer func() { _ = v.Value.Set(old) }()
	match := func(string, string) (bool, error) { return true, nil }
	return testing.RunTests(match, []testing.InternalTest{{Name: name, F: f}})
}

// ExampleWorld_Steady runs the parent controller of this package's tests
// in a World: create a parent that wants three children, wait until the
// system is steady, and look at the store.
func ExampleWorld_Steady() {
	asTest("TestThreeChildren", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w := reconciletest.New(t, reconciletest.Options{})
			s := newSystem(t, w, correct, 2)
			_, err := s.parents.Create(context.Background(), &Parent{ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: "a"}, Replicas: 3})
			if err != nil {
				t.Fatal(err)
			}
			fmt.Println("steady:", w.Steady())
			for key := range s.children.All() {
				fmt.Println(key)
			}
		})
	})
	// Output:
	// steady: <nil>
	// ns/a-1
	// ns/a-2
	// ns/a-3
}

// ExampleWorld_Steady_notSteady: a controller that asks to run again every
// 7 seconds is never steady; Steady says which request keeps it busy.
func ExampleWorld_Steady_notSteady() {
	asTest("TestLoop", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			l := newLoop(t, reconciletest.Options{SteadyTimeout: time.Minute})
			l.create(t, &Counter{ObjectMeta: controlloop.ObjectMeta{Name: "x"}, Every: 7 * time.Second, Times: -1})
			fmt.Println(l.w.Steady())
		})
	})
	// Output:
	// reconciletest: the system did not get steady within 1m0s of virtual time: controller loop: ns/x waiting (due in 3s)
}

// ExampleCheck checks the parent controller's invariants on random
// schedules of writes and faults (-rapid.checks of them): no parent ever
// has more children than it wants, and whenever the system is steady each
// has exactly as many, and no child outlives its parent. The correct
// controller passes; TestPlantedBugsAreFound shows Check finding each of
// three bugs planted in it.
func ExampleCheck() {
	passed := asTest("TestParents", func(t *testing.T) {
		reconciletest.Check(t, reconciletest.Property[*system]{
			Setup: func(t *rapid.T, w *reconciletest.World) *system {
				return newSystem(t, w, correct, rapid.IntRange(1, 2).Draw(t, "workers"))
			},
			Actions:   actions(),
			Always:    (*system).neverTooMany,
			Invariant: (*system).converged,
		})
	})
	fmt.Println("passed:", passed)
	// Output:
	// passed: true
}
