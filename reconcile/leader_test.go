package reconcile_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
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
	leadCtx, err := reconcile.AlwaysLeader{}.Lead(ctx)
	if err != nil || leadCtx.Err() != nil {
		t.Fatalf("Lead = %v, %v", leadCtx, err)
	}
	cancel()
	if leadCtx.Err() == nil {
		t.Fatal("lead context outlived its parent")
	}
	if _, err := (reconcile.AlwaysLeader{}).Lead(ctx); err == nil {
		t.Fatal("Lead on an ended context succeeded")
	}
	// Unlike a candidate, AlwaysLeader may be shared by any number of Leads.
	var shared reconcile.AlwaysLeader
	for range 3 {
		if _, err := shared.Lead(context.Background()); err != nil {
			t.Fatalf("a concurrent Lead of AlwaysLeader = %v", err)
		}
	}
}

// countingElector counts the campaigns of the elector it wraps.
type countingElector struct {
	el    reconcile.LeaderElector
	leads atomic.Int32
}

func (c *countingElector) Lead(ctx context.Context) (context.Context, error) {
	c.leads.Add(1)
	return c.el.Lead(ctx)
}

// TestManagerElectionLeadsAndLosesTogether runs two controllers under one
// Manager election: the Manager campaigns once for both; they work only
// while it leads, start together, lose together (both reconciles in
// flight cancelled), and work again when the Manager leads again.
func TestManagerElectionLeadsAndLosesTogether(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var election reconcile.LocalElection
		other := election.Candidate("other")
		otherCtx, otherQuit := context.WithCancel(context.Background())
		if _, err := other.Lead(otherCtx); err != nil { // the other replica leads first
			t.Fatal(err)
		}

		var mu sync.Mutex
		started := map[string][]string{}
		cancelled := map[string]int{}
		ctl := func(name string) *reconcile.Controller[string] {
			return newController(t, reconcile.Func[string](func(ctx context.Context, req string) (reconcile.Result, error) {
				mu.Lock()
				started[name] = append(started[name], req)
				mu.Unlock()
				select {
				case <-time.After(time.Hour):
				case <-ctx.Done():
					mu.Lock()
					cancelled[name]++
					mu.Unlock()
				}
				return reconcile.Result{}, nil
			}), reconcile.Options[string]{Name: name})
		}
		a, b := ctl("a"), ctl("b")
		m := &reconcile.Manager{LeaderElector: &countingElector{el: election.Candidate("manager")}}
		m.AddController(a)
		m.AddController(b)
		stop := run(m)
		a.Queue().Add("x")
		b.Queue().Add("x")
		time.Sleep(time.Minute)
		snapshot := func() (map[string][]string, map[string]int) {
			mu.Lock()
			defer mu.Unlock()
			s := map[string][]string{}
			for k, v := range started {
				s[k] = slices.Clone(v)
			}
			return s, maps.Clone(cancelled)
		}
		if s, _ := snapshot(); len(s) != 0 {
			t.Fatalf("reconciled %v while another replica led", s)
		}

		otherQuit() // the other replica leaves: the manager leads, both controllers work
		synctest.Wait()
		if got := election.Leader(); got != "manager" {
			t.Fatalf("leader = %q, want manager", got)
		}
		if s, _ := snapshot(); !slices.Equal(s["a"], []string{"x"}) || !slices.Equal(s["b"], []string{"x"}) {
			t.Fatalf("once the manager leads, reconciled %v, want x by both", s)
		}

		otherCtx, otherQuit = context.WithCancel(context.Background())
		defer otherQuit()
		otherLeads := make(chan error, 1)
		go func() { _, err := other.Lead(otherCtx); otherLeads <- err }()
		synctest.Wait()
		election.Depose() // the manager loses: the other replica leads, both reconciles are cancelled
		if err := <-otherLeads; err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		a.Queue().Add("y")
		b.Queue().Add("y")
		time.Sleep(time.Minute)
		if s, c := snapshot(); c["a"] != 1 || c["b"] != 1 || len(s["a"]) != 1 || len(s["b"]) != 1 {
			t.Fatalf("after losing leadership: reconciled %v, cancelled %v; want both in-flight reconciles cancelled and nothing new started", s, c)
		}

		election.Depose() // the other loses; the manager, campaigning again, regains
		synctest.Wait()
		if got := election.Leader(); got != "manager" {
			t.Fatalf("leader = %q, want manager again", got)
		}
		if s, _ := snapshot(); !slices.Equal(s["a"], []string{"x", "y"}) || !slices.Equal(s["b"], []string{"x", "y"}) {
			t.Fatalf("after regaining leadership, reconciled %v, want y by both", s)
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if n := m.LeaderElector.(*countingElector).leads.Load(); n != 2 {
			t.Errorf("the manager campaigned %d times for its two controllers and two terms, want 2", n)
		}
	})
}

// TestSharedCandidateIsAnError gives one candidate to two controllers (or
// to a controller and its Manager): the second Lead fails with
// ErrElectorInUse and Run returns it, instead of one controller waiting
// forever without a word.
func TestSharedCandidateIsAnError(t *testing.T) {
	noop := reconcile.Func[string](func(context.Context, string) (reconcile.Result, error) { return reconcile.Result{}, nil })
	t.Run("two controllers in a manager", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var election reconcile.LocalElection
			shared := election.Candidate("replica")
			var m reconcile.Manager
			m.AddController(newController(t, noop, reconcile.Options[string]{Name: "a", LeaderElector: shared}))
			m.AddController(newController(t, noop, reconcile.Options[string]{Name: "b", LeaderElector: shared}))
			if err := m.Run(context.Background()); !errors.Is(err, reconcile.ErrElectorInUse) {
				t.Fatalf("Run = %v, want ErrElectorInUse", err)
			}
		})
	})
	t.Run("a controller and its manager", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var election reconcile.LocalElection
			shared := election.Candidate("replica")
			m := reconcile.Manager{LeaderElector: shared}
			m.AddController(newController(t, noop, reconcile.Options[string]{Name: "a", LeaderElector: shared}))
			m.AddController(newController(t, noop, reconcile.Options[string]{Name: "b"}))
			if err := m.Run(context.Background()); !errors.Is(err, reconcile.ErrElectorInUse) {
				t.Fatalf("Run = %v, want ErrElectorInUse", err)
			}
		})
	})
	t.Run("two standalone controllers", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var election reconcile.LocalElection
			shared := election.Candidate("replica")
			stop := run(newController(t, noop, reconcile.Options[string]{Name: "a", LeaderElector: shared}))
			synctest.Wait()
			err := newController(t, noop, reconcile.Options[string]{Name: "b", LeaderElector: shared}).Run(context.Background())
			if !errors.Is(err, reconcile.ErrElectorInUse) {
				t.Fatalf("second controller's Run = %v, want ErrElectorInUse", err)
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
		})
	})
}

// TestCandidateIsOneReplica checks LocalElection's one-candidate rule: a
// Lead while another campaigns or leads fails with ErrElectorInUse; once
// the lead context has ended, the candidate may Lead again at once.
func TestCandidateIsOneReplica(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var election reconcile.LocalElection
		first, second := election.Candidate("first"), election.Candidate("second")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		leadCtx, err := first.Lead(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := first.Lead(ctx); !errors.Is(err, reconcile.ErrElectorInUse) {
			t.Fatalf("Lead while leading = %v, want ErrElectorInUse", err)
		}
		waitCtx, stopWaiting := context.WithCancel(ctx)
		waited := make(chan error, 1)
		go func() { _, err := second.Lead(waitCtx); waited <- err }()
		synctest.Wait()
		if _, err := second.Lead(ctx); !errors.Is(err, reconcile.ErrElectorInUse) {
			t.Fatalf("Lead while campaigning = %v, want ErrElectorInUse", err)
		}
		stopWaiting()
		if err := <-waited; !errors.Is(err, context.Canceled) {
			t.Fatalf("campaign whose ctx ended = %v, want context.Canceled", err)
		}

		election.Depose()
		<-leadCtx.Done()
		if leadCtx, err = first.Lead(ctx); err != nil || leadCtx.Err() != nil { // no wait for the old term's cleanup
			t.Fatalf("Lead after the term ended = %v, %v; want to lead again", leadCtx, err)
		}
		if got := election.Leader(); got != "first" {
			t.Fatalf("leader = %q, want first (second withdrew)", got)
		}
	})
}

// TestLocalElectionIsFair checks that candidates lead in order of arrival,
// that one withdrawn while waiting is skipped, and that a deposed
// candidate campaigning again queues behind the others.
func TestLocalElectionIsFair(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var election reconcile.LocalElection
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var mu sync.Mutex
		var order []string
		campaign := func(name string, ctx context.Context) {
			c := election.Candidate(name)
			go func() {
				for ctx.Err() == nil {
					leadCtx, err := c.Lead(ctx)
					if err != nil {
						return
					}
					mu.Lock()
					order = append(order, name)
					mu.Unlock()
					<-leadCtx.Done()
				}
			}()
			synctest.Wait()
		}
		campaign("a", ctx)
		campaign("b", ctx)
		quitter, quit := context.WithCancel(ctx)
		campaign("quitter", quitter)
		campaign("c", ctx)
		quit()
		for range 4 {
			election.Depose()
			synctest.Wait()
		}
		cancel()
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if want := []string{"a", "b", "c", "a", "b"}; !slices.Equal(order, want) {
			t.Fatalf("led in order %v, want %v", order, want)
		}
	})
}

// TestCandidateLeadsAgainWhenItsContextEnds ends a leading candidate's
// context and campaigns again at once: the new Lead must not be refused
// as a concurrent one while the old term's cleanup has yet to run.
func TestCandidateLeadsAgainWhenItsContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var election reconcile.LocalElection
		c := election.Candidate("c")
		for range 3 {
			ctx, cancel := context.WithCancel(context.Background())
			if _, err := c.Lead(ctx); err != nil {
				t.Fatal(err)
			}
			cancel()
		}
		synctest.Wait()
		if got := election.Leader(); got != "" {
			t.Fatalf("leader = %q after every term's context ended, want none", got)
		}
	})
}

// TestDeposedBeforeStartingToLead deposes a candidate in the instant
// between its promotion and its Lead returning: Lead must hand back an
// ended lead context, never a live one for a candidate that no longer
// leads.
func TestDeposedBeforeStartingToLead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var election reconcile.LocalElection
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if _, err := election.Candidate("first").Lead(ctx); err != nil {
			t.Fatal(err)
		}
		type lead struct {
			ctx context.Context
			err error
		}
		led := make(chan lead, 1)
		go func() {
			leadCtx, err := election.Candidate("second").Lead(ctx)
			led <- lead{leadCtx, err}
		}()
		synctest.Wait()
		election.Depose() // second is promoted...
		election.Depose() // ...and deposed before its Lead can return
		got := <-led
		if got.err != nil {
			t.Fatal(got.err)
		}
		if got.ctx.Err() == nil {
			t.Fatalf("Lead returned a live lead context; leader is %q", election.Leader())
		}
	})
}
