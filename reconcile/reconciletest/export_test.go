package reconciletest

import (
	"testing"
	"testing/synctest"

	"pgregory.net/rapid"
)

// CheckTB is Check reporting to tb, which may be a recorder, for tests
// that a property fails. rapid.SyncTest needs a *testing.T behind its
// rapid.T, so the whole search runs in one bubble of t instead: rapid's
// own deadlines (-rapid.shrinktime) are then in virtual time.
func CheckTB[S any](t *testing.T, tb rapid.TB, p Property[S]) {
	if !p.valid(tb) {
		return
	}
	synctest.Test(t, func(*testing.T) {
		rapid.Check(tb, func(rt *rapid.T) { runSchedule(rt, p) })
	})
}
