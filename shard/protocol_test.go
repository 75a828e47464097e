package shard

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// settle is how long the ring needs, after churn stops, to reach its steady
// state: the lease TTL (a frozen member's claims outlive it by that much),
// the window, the drain of the longest reconcile, and a margin for the
// reconciles the move causes.
const settle = testTTL + testWindow + testLatency + 10*time.Second

// waitConverged waits, in a bubble, for the ring to converge within d.
func waitConverged(t *testing.T, c *cluster, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		synctest.Wait()
		why := c.converged()
		if len(why) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not converged %v after churn stopped: %d problems, such as %q", d, len(why), why[:min(3, len(why))])
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestExclusivityUnderChurn is issue 15's tests 2 and 4: replicas are
// added, removed, killed and frozen while objects change; the cluster's
// reconciler fails the test if a second replica enters a key in flight
// under a current claim, if a slot's epochs fall, if a reconcile starts
// under an epoch that is not current, or if a write under an epoch
// succeeds after a newer epoch's reconcile started. Once churn stops, the
// ring must converge within TTL + window + the longest reconcile (plus a
// margin for the moves): every slot claimed by the live member HRW picks,
// unowned_slots 0, every object changed after the churn reconciled.
func TestExclusivityUnderChurn(t *testing.T) {
	seeds := 8
	if testing.Short() {
		seeds = 2
	}
	for seed := range seeds {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { churn(t, uint64(seed)) })
		})
	}
}

func churn(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 15))
	c := newCluster(t, 60)
	defer c.stopAll()
	next := 0
	add := func() string {
		id := fmt.Sprintf("r%d", next)
		next++
		c.start(id)
		return id
	}
	for range 3 {
		add()
	}
	time.Sleep(testWindow + time.Second)
	live := func() []string {
		c.mu.Lock()
		defer c.mu.Unlock()
		var ids []string
		for id := range c.replicas {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		return ids
	}
	frozen := map[string]bool{}
	for step := range 40 {
		ids := live()
		switch op := rng.IntN(6); {
		case op == 0 && len(ids) < 6:
			add()
		case op == 1 && len(ids) > 2:
			c.stop(ids[rng.IntN(len(ids))])
		case op == 2 && len(ids) > 2:
			id := ids[rng.IntN(len(ids))]
			delete(frozen, id)
			c.kill(id)
		case op == 3 && len(ids) > 2:
			id := ids[rng.IntN(len(ids))]
			frozen[id] = true
			c.freeze(id)
		case op == 4:
			for id := range frozen {
				c.thaw(id)
				delete(frozen, id)
			}
		default:
			c.touch()
		}
		if step%5 == 0 {
			c.touch()
		}
		// Objects change all along, so that handoffs meet reconciles in
		// flight.
		for range rng.IntN(int(2 * testTTL / time.Second)) {
			c.touchSome(rng, 10)
			time.Sleep(time.Second)
		}
		c.check()
	}
	for id := range frozen {
		c.thaw(id)
	}
	// A last blow, the worst for ownership: one replica dies, one freezes
	// for good (its claims outlive it by the TTL), one joins.
	ids := live()
	c.kill(ids[0])
	c.freeze(ids[1])
	add()
	// Churn stops: whatever changes now must be reconciled. Ownership must
	// settle within TTL (a frozen member's claims outlive it that long) +
	// window + the longest reconcile (a drain), checked every 100ms.
	c.touch()
	start := time.Now()
	ownership := testTTL + testWindow + testLatency
	for len(c.claimProblems()) > 0 {
		if time.Since(start) > ownership {
			t.Fatalf("slots not claimed as HRW says %v after churn stopped: %q", ownership, c.claimProblems()[:1])
		}
		time.Sleep(100 * time.Millisecond)
	}
	claimed := time.Since(start)
	waitConverged(t, c, settle)
	t.Logf("seed %d: slots settled %v, objects %v after churn stopped", seed, claimed, time.Since(start))
	c.check()
	for _, id := range live() {
		r := c.replicas[id]
		if r.frozen {
			continue
		}
		if got := testutil.ToFloat64(r.member.metrics.unowned); got != 0 {
			t.Errorf("%s: unowned_slots %v after convergence", id, got)
		}
	}
	t.Logf("seed %d: %d fenced writes; reconciles per replica %v", seed, c.fencedN, c.reconciles)
}
