package reconcile_test

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop/reconcile"
)

// TestManagerRunBound checks Manager.Run's stated bound (issue 12, item 2):
// after ctx ends it returns once its controllers (here one whose reconciler
// ignores its context: ShutdownGracePeriod plus min(grace, 1s)), its
// election and then its caches (one that takes 2s to stop) have returned,
// with the controller's ErrShutdownTimeout among its errors.
func TestManagerRunBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var log []string
		release := make(chan struct{})
		stuck := reconcile.Func[string](func(context.Context, string) (reconcile.Result, error) {
			<-release // ignores ctx
			return reconcile.Result{}, nil
		})
		c := newController(t, stuck, reconcile.Options[string]{ShutdownGracePeriod: 10 * time.Second})
		var election reconcile.LocalElection
		m := reconcile.Manager{LeaderElector: election.Candidate("m")}
		m.AddCache(stepRunner{name: "cache", log: &log, mu: &mu, hold: 2 * time.Second})
		m.AddController(c)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- m.Run(ctx) }()
		synctest.Wait()
		c.Queue().Add("a")
		synctest.Wait()
		cancel()
		began := time.Now()
		err := <-done
		if want := 10*time.Second + time.Second + 2*time.Second; time.Since(began) != want || !errors.Is(err, reconcile.ErrShutdownTimeout) {
			t.Errorf("Manager.Run = %v after %v, want ErrShutdownTimeout after %v (controller 11s, then cache 2s)", err, time.Since(began), want)
		}
		close(release)
		synctest.Wait()
	})
}

// TestHugeRequeueAfterDoesNotHotLoop (issue 12, item 4, through the
// controller): a reconcile that asks to run again after a delay too long for
// the clock (math.MaxInt64, what time.Until of year 9999 gives, or 200
// years) is not run again at once in a loop, and a later add of another key
// is still served.
func TestHugeRequeueAfterDoesNotHotLoop(t *testing.T) {
	for _, huge := range []time.Duration{math.MaxInt64, 200 * 365 * 24 * time.Hour} {
		t.Run(huge.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var far, near atomic.Int64
				r := reconcile.Func[string](func(_ context.Context, key string) (reconcile.Result, error) {
					if key == "far" {
						far.Add(1)
						return reconcile.Result{RequeueAfter: huge}, nil
					}
					near.Add(1)
					return reconcile.Result{}, nil
				})
				c := newController(t, r, reconcile.Options[string]{})
				stop := run(c)
				defer stop()
				c.Queue().Add("far")
				synctest.Wait()
				time.Sleep(time.Hour)
				c.Queue().AddAfter("near", 10*time.Millisecond)
				time.Sleep(time.Second)
				synctest.Wait()
				if n := far.Load(); n != 1 {
					t.Errorf("the key that asked for a huge RequeueAfter was reconciled %d times in an hour, want 1", n)
				}
				if n := near.Load(); n != 1 {
					t.Errorf("a key added with a 10ms delay after it was reconciled %d times, want 1", n)
				}
			})
		})
	}
}
