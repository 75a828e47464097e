package reconcile_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop/reconcile"
)

// TestLeadershipGainedLostRegained runs two replicas of a controller in one
// local election: only the leader reconciles; a deposed leader's reconcile
// in flight is cancelled at once; and a replica regains leadership when the
// other loses it.
func TestLeadershipGainedLostRegained(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var election reconcile.LocalElection
		var mu sync.Mutex
		byReplica := map[string][]string{}
		cancelled := map[string]int{}
		replica := func(name string) *reconcile.Controller[string] {
			r := reconcile.Func[string](func(ctx context.Context, req string) (reconcile.Result, error) {
				mu.Lock()
				byReplica[name] = append(byReplica[name], req)
				mu.Unlock()
				select {
				case <-time.After(time.Second):
				case <-ctx.Done():
					mu.Lock()
					cancelled[name]++
					mu.Unlock()
				}
				return reconcile.Result{}, nil
			})
			return newController(t, r, reconcile.Options[string]{Name: "rs", LeaderElector: election.Candidate(name)})
		}
		a, b := replica("a"), replica("b")
		stopA := run(a)
		synctest.Wait()
		stopB := run(b)
		synctest.Wait()
		if got := election.Leader(); got != "a" {
			t.Fatalf("leader = %q, want a (first to campaign)", got)
		}
		a.Queue().Add("x")
		b.Queue().Add("x")
		time.Sleep(1500 * time.Millisecond)
		// a reconciled x; b holds x queued, warm, but does not work while not leading.
		a.Queue().Add("y") // a starts y, then loses leadership during it
		time.Sleep(100 * time.Millisecond)
		election.Depose()
		synctest.Wait()
		if got := election.Leader(); got != "b" {
			t.Fatalf("leader after deposing a = %q, want b", got)
		}
		time.Sleep(1500 * time.Millisecond)
		election.Depose() // b loses; a, campaigning again, regains
		synctest.Wait()
		if got := election.Leader(); got != "a" {
			t.Fatalf("leader after deposing b = %q, want a again", got)
		}
		a.Queue().Add("z")
		time.Sleep(1500 * time.Millisecond)
		if err := stopB(); err != nil {
			t.Fatal(err)
		}
		if err := stopA(); err != nil {
			t.Fatal(err)
		}

		mu.Lock()
		defer mu.Unlock()
		if got := byReplica["a"]; len(got) != 3 || got[0] != "x" || got[1] != "y" || got[2] != "z" {
			t.Errorf("a reconciled %v, want [x y z]", got)
		}
		if got := byReplica["b"]; len(got) != 1 || got[0] != "x" {
			t.Errorf("b reconciled %v, want [x] (only while it led)", got)
		}
		if cancelled["a"] != 1 {
			t.Errorf("a's reconcile of y was cancelled %d times, want once when a lost leadership", cancelled["a"])
		}
	})
}

func TestAlwaysLeader(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	leadCtx, err := reconcile.AlwaysLeader.Lead(ctx)
	if err != nil || leadCtx.Err() != nil {
		t.Fatalf("Lead = %v, %v", leadCtx, err)
	}
	cancel()
	if leadCtx.Err() == nil {
		t.Fatal("lead context outlived its parent")
	}
	if _, err := reconcile.AlwaysLeader.Lead(ctx); err == nil {
		t.Fatal("Lead on an ended context succeeded")
	}
}
