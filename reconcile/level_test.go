package reconcile_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/reconcile"
)

// TestPeriodicSync (issue 12, item 1): with no event at all, Watch
// re-delivers every cached object once per sync period, jittered to 90-100%
// of Options.SyncPeriod (10 hours by default); NoSync turns it off.
func TestPeriodicSync(t *testing.T) {
	for _, tc := range []struct {
		name   string
		period time.Duration
		want   time.Duration // the period to expect; 0: none
	}{
		{"default", 0, 10 * time.Hour},
		{"1h", time.Hour, time.Hour},
		{"NoSync", reconcile.NoSync, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g, inf := newRig(t, reconcile.Options[reconcile.Request]{SyncPeriod: tc.period}, reconcile.ForObject[*Pod]())
				if _, err := g.store.Create(context.Background(), &Pod{ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: "p"}}); err != nil {
					t.Fatal(err)
				}
				stop := g.run(inf)
				defer func() {
					if err := stop(); err != nil {
						t.Error(err)
					}
				}()
				time.Sleep(time.Second)
				if got := g.take(); !slices.Equal(got, []string{"p"}) {
					t.Fatalf("initial list reconciled %v, want [p]", got)
				}
				if tc.want == 0 {
					time.Sleep(100 * time.Hour)
					if got := g.take(); len(got) != 0 {
						t.Fatalf("reconciled %v with NoSync, want nothing", got)
					}
					return
				}
				// The binding drew its period p from [0.9, 1] x SyncPeriod: it
				// resyncs at p and 2p after it was registered (at 0).
				start := time.Now().Add(-time.Second)
				for i, w := range []struct {
					until time.Duration
					want  []string
				}{
					{tc.want*9/10 - time.Second, nil},
					{tc.want + time.Second, []string{"p"}},
					{tc.want*18/10 - time.Second, nil},
					{2*tc.want + time.Second, []string{"p"}},
				} {
					time.Sleep(time.Until(start.Add(w.until)))
					if got := g.take(); !slices.Equal(got, w.want) {
						t.Fatalf("window %d (until %v): reconciled %v, want %v", i, w.until, got, w.want)
					}
				}
			})
		})
	}
}

// TestPanickingMappingIsRetried (issue 12, item 1): a notification whose
// Mapper or Predicate panics is not lost: it is mapped again after a
// backoff (5ms, then 10ms, ...) until it maps, and reconciled then.
func TestPanickingMappingIsRetried(t *testing.T) {
	for _, where := range []string{"mapper", "predicate"} {
		t.Run(where, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var panics atomic.Int32
				flaky := func() {
					if panics.Load() < 3 {
						panics.Add(1)
						panic("injected mapping failure")
					}
				}
				m, pred := reconcile.ForObject[*Pod](), reconcile.Predicate[*Pod]{}
				if where == "mapper" {
					m = func(p *Pod, reqs []reconcile.Request) []reconcile.Request {
						flaky()
						return reconcile.ForObject[*Pod]()(p, reqs)
					}
				} else {
					pred.Add = func(*Pod) bool { flaky(); return true }
				}
				g, inf := newRig(t, reconcile.Options[reconcile.Request]{SyncPeriod: reconcile.NoSync}, m, pred)
				stop := g.run(inf)
				defer func() {
					if err := stop(); err != nil {
						t.Error(err)
					}
				}()
				synctest.Wait()
				if _, err := g.store.Create(context.Background(), &Pod{ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: "p"}}); err != nil {
					t.Fatal(err)
				}
				synctest.Wait()
				start := time.Now()
				time.Sleep(5*time.Millisecond + 10*time.Millisecond + 20*time.Millisecond - time.Nanosecond)
				if got := g.take(); len(got) != 0 || panics.Load() != 3 {
					t.Fatalf("reconciled %v after %d panics, before the third retry (35ms)", got, panics.Load())
				}
				time.Sleep(time.Nanosecond)
				synctest.Wait()
				if got := g.take(); !slices.Equal(got, []string{"p"}) {
					t.Fatalf("reconciled %v %v after the create, want [p] once its mapping stopped panicking", got, time.Since(start))
				}
			})
		})
	}
}

// TestMissedChildIsHealedByRelist is issue 12's first case: the
// controller creates child a-1 while the child informer's watch is down,
// someone else deletes it, and the informer relists. No event tells of
// a-1 (the relist neither holds it nor had it cached), but the relist,
// delivered again as a resync, maps a-0 to its parent, which is reconciled
// and gets its a-1 back, with no periodic sync at all.
func TestMissedChildIsHealedByRelist(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, parents, children, stop := newLevelWorld(t, reconcile.NoSync, 1)
		defer func() {
			if err := stop(); err != nil {
				t.Error(err)
			}
		}()
		ctx := context.Background()
		p, err := parents.Create(ctx, &Parent{ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: "a"}, Replicas: 1})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		children.FailNextWatch(errors.New("injected watch failure"))
		children.BreakWatches()
		synctest.Wait() // the reflector backs off before it watches again
		p.Replicas = 2
		if _, err := parents.Update(ctx, p); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := childrenOf(children, "a"); !slices.Equal(got, []string{"a-0", "a-1"}) {
			t.Fatalf("a's children are %v, want [a-0 a-1] once a is rescaled", got)
		}
		if err := w.deleteChild(ctx, controlloop.Key{Namespace: "ns", Name: "a-1"}); err != nil {
			t.Fatal(err)
		}
		children.ExpireHistory() // the watch resumes with ErrExpired: a relist
		time.Sleep(time.Minute)
		if got := childrenOf(children, "a"); !slices.Equal(got, []string{"a-0", "a-1"}) {
			t.Fatalf("after the relist, a's children are %v, want [a-0 a-1]", got)
		}
	})
}

// TestOnlyChildMissedIsHealedByRelist: the case a relist of the children
// cannot heal through the children it lists: parent a's only child a-0 is
// created while the child informer's watch is down, and deleted before the
// relist, which then lists no child of a. A relist of any informer bound
// to the controller resyncs its other bindings, so a is reconciled again
// on the relisted cache and gets a-0 back, with no periodic sync at all.
func TestOnlyChildMissedIsHealedByRelist(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, parents, children, stop := newLevelWorld(t, reconcile.NoSync, 1)
		defer func() {
			if err := stop(); err != nil {
				t.Error(err)
			}
		}()
		ctx := context.Background()
		time.Sleep(time.Second)
		children.FailNextWatch(errors.New("injected watch failure"))
		children.BreakWatches()
		synctest.Wait() // the reflector backs off before it lists again
		if _, err := parents.Create(ctx, &Parent{ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: "a"}, Replicas: 1}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := childrenOf(children, "a"); !slices.Equal(got, []string{"a-0"}) {
			t.Fatalf("a's children are %v, want [a-0]", got)
		}
		if err := w.deleteChild(ctx, controlloop.Key{Namespace: "ns", Name: "a-0"}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute) // the reflector relists, and lists no child
		if got := childrenOf(children, "a"); !slices.Equal(got, []string{"a-0"}) {
			t.Fatalf("after the relist, a's children are %v, want [a-0]", got)
		}
	})
}

// TestSyncPeriodJitter: each binding draws its period uniformly from 90% to
// 100% of Options.SyncPeriod, so bindings do not resync together.
func TestSyncPeriodJitter(t *testing.T) {
	c, err := reconcile.New(reconcile.Func[reconcile.Request](func(context.Context, reconcile.Request) (reconcile.Result, error) {
		return reconcile.Result{}, nil
	}), reconcile.Options[reconcile.Request]{Name: "rs", Logger: quiet, SyncPeriod: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := time.Hour, time.Duration(0)
	for range 1000 {
		p := reconcile.SyncPeriod(c)
		lo, hi = min(lo, p), max(hi, p)
	}
	if lo < 54*time.Minute || hi > time.Hour || lo > 55*time.Minute || hi < 59*time.Minute {
		t.Fatalf("1000 periods drawn span [%v, %v], want them spread over [54m, 1h]", lo, hi)
	}
}

// TestMappingRetriesStopWithRun: a mapping that always panics is retried
// with backoff while the controller runs, and no more once Run returned.
func TestMappingRetriesStopWithRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		m := func(*Pod, []reconcile.Request) []reconcile.Request { calls.Add(1); panic("always") }
		g, inf := newRig(t, reconcile.Options[reconcile.Request]{SyncPeriod: reconcile.NoSync}, m)
		if _, err := g.store.Create(context.Background(), &Pod{ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: "p"}}); err != nil {
			t.Fatal(err)
		}
		stop := g.run(inf)
		time.Sleep(5*time.Millisecond*(1+2+4+8) + time.Millisecond) // four retries
		if n := calls.Load(); n != 5 {
			t.Fatalf("mapped %d times in the first 76ms, want 5 (the add and four retries)", n)
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		n := calls.Load()
		time.Sleep(time.Hour)
		if got := calls.Load(); got != n {
			t.Fatalf("mapped %d more times after Run returned, want none", got-n)
		}
	})
}

// TestMappingFailingDuringRetryIsKept: a notification whose mapping panics
// while a retry of the same object runs is retried too, not dropped.
func TestMappingFailingDuringRetryIsKept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		hold := make(chan struct{})
		m := func(p *Pod, reqs []reconcile.Request) []reconcile.Request {
			switch calls.Add(1) {
			case 1, 3: // the add, then the update while the add's retry runs
				panic("injected mapping failure")
			case 2: // the add's retry
				<-hold
			}
			return append(reqs, reconcile.Request{Namespace: "ns", Name: p.Phase})
		}
		g, inf := newRig(t, reconcile.Options[reconcile.Request]{SyncPeriod: reconcile.NoSync}, m)
		ctx := context.Background()
		p, err := g.store.Create(ctx, &Pod{ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: "p"}, Phase: "v1"})
		if err != nil {
			t.Fatal(err)
		}
		stop := g.run(inf)
		time.Sleep(5 * time.Millisecond)
		synctest.Wait() // the add's retry waits in the mapper
		p.Phase = "v2"
		if _, err := g.store.Update(ctx, p); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the update's mapping panicked
		if n := calls.Load(); n != 3 {
			t.Fatalf("mapped %d times, want 3", n)
		}
		close(hold)
		time.Sleep(time.Second)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		got := g.take()
		slices.Sort(got)
		if got = slices.Compact(got); !slices.Equal(got, []string{"v1", "v2"}) {
			t.Fatalf("reconciled %v, want v1 (the add) and v2 (the update)", got)
		}
	})
}
