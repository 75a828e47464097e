package shard

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestBoundedMovement is issue 15's test 5: scaling 3 -> 4 and 4 -> 3
// moves exactly the slots whose HRW winner changes, each straight from its
// old owner to its new one (no slot is ever claimed by a third member),
// and the 3 -> 4 step hands off exactly that many slots; a replica
// restarted with the same ID within the window hands off nothing, and
// every slot ends with the owner it had.
func TestBoundedMovement(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 20)
		defer c.stopAll()
		for _, id := range []string{"r0", "r1", "r2"} {
			c.start(id)
		}
		waitConverged(t, c, settle)

		step := func(name string, change func(), want []string) {
			t.Helper()
			before := c.mem.View(testRing).Claims
			handoffs := c.handoffs()
			expect := assignment(testSlots, want)
			moved := 0
			for slot := range before {
				if before[slot].Owner != expect[slot] {
					moved++
				}
			}
			change()
			// Watch every slot's owner until the ring settles.
			deadline := time.Now().Add(settle)
			for {
				v := c.mem.View(testRing)
				for slot, cl := range v.Claims {
					if cl.Owner != "" && cl.Owner != before[slot].Owner && cl.Owner != expect[slot] {
						t.Errorf("%s: slot %d went to %s, neither its old owner %s nor its new %s", name, slot, cl.Owner, before[slot].Owner, expect[slot])
					}
				}
				if slices.Equal(v.Members, want) && len(c.converged()) == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: not converged after %v: %q", name, settle, c.converged())
				}
				time.Sleep(100 * time.Millisecond)
			}
			after := c.mem.View(testRing).Claims
			changed := 0
			for slot := range after {
				if after[slot].Owner != before[slot].Owner {
					changed++
				}
			}
			if changed != moved {
				t.Errorf("%s: %d slots changed owner; HRW moves %d", name, changed, moved)
			}
			t.Logf("%s: %d of %d slots moved; %v handoffs", name, changed, testSlots, c.handoffs()-handoffs)
			if name == "3 -> 4" && c.handoffs()-handoffs != float64(moved) {
				t.Errorf("%s: %v handoffs, want %d", name, c.handoffs()-handoffs, moved)
			}
			if name != "3 -> 4" && c.handoffs() != handoffs {
				t.Errorf("%s: %v handoffs, want none (the leaver's claims end with its lease)", name, c.handoffs()-handoffs)
			}
			c.check()
		}
		step("3 -> 4", func() { c.start("r3") }, []string{"r0", "r1", "r2", "r3"})
		step("4 -> 3", func() { c.stop("r3") }, []string{"r0", "r1", "r2"})
		step("restart r1", func() { c.stop("r1"); time.Sleep(testWindow / 3); c.start("r1") }, []string{"r0", "r1", "r2"})
	})
}

// handoffs sums the handoffs_total of every replica that ran.
func (c *cluster) handoffs() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.retiredHandoffs
	for _, r := range c.replicas {
		n += testutil.ToFloat64(r.member.metrics.handoffs)
	}
	return n
}
