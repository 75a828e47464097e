package reconciletest_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/reconcile/reconciletest"
	"pgregory.net/rapid"
)

// TestSteady: a parent's children are created, and Steady returns once
// the controller is done and the caches have caught up, in no real time.
func TestSteady(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := reconciletest.New(t, reconciletest.Options{})
		s := newSystem(t, w, correct)
		ctx := context.Background()
		if _, err := s.parents.Create(ctx, &Parent{ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: "a"}, Replicas: 3}); err != nil {
			t.Fatal(err)
		}
		if err := w.Steady(); err != nil {
			t.Fatal(err)
		}
		if err := s.converged(); err != nil {
			t.Fatal(err)
		}
	})
}

func property(b bug) reconciletest.Property[*system] {
	return reconciletest.Property[*system]{
		Setup:     func(t *rapid.T, w *reconciletest.World) *system { return newSystem(t, w, b) },
		Actions:   actions(),
		Always:    (*system).neverTooMany,
		Invariant: (*system).converged,
	}
}

// TestCorrectControllerPasses: the correct controller keeps both
// invariants under every fault the kit injects by default.
func TestCorrectControllerPasses(t *testing.T) {
	reconciletest.Check(t, property(correct))
}

var _ = errors.New
var _ = time.Second
