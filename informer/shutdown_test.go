package informer_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop/informer"
)

// sleeping is a handler that takes d over every call.
type sleeping struct{ d time.Duration }

func (s sleeping) OnAdd(*Pod, bool)    { time.Sleep(s.d) }
func (s sleeping) OnUpdate(_, _ *Pod)  { time.Sleep(s.d) }
func (s sleeping) OnDelete(*Pod, bool) { time.Sleep(s.d) }

// TestRunReturnsWithinOneHandlerCall checks Run's bound with a slow
// bounded handler: once ctx ends, Run returns as soon as the call in
// progress has (issue 12, item 2: the applier went on with its whole batch
// of up to 4096 changes, waiting on the handler for each; Run took seconds
// with 3,000 objects and a 2ms handler). With more objects than the pipe
// between the stages holds, stage 1 is waiting for room as well.
func TestRunReturnsWithinOneHandlerCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const call = 2 * time.Millisecond
		s := newStore(t)
		for i := range 10000 { // more than the pipe holds: stage 1 waits for room too
			_, _ = s.Create(ctx, pod("ns", "p"+itoa(i)))
		}
		inf := newInformer(t, s, informer.Options[*Pod]{})
		if _, err := inf.AddHandler(sleeping{call}, informer.HandlerOptions{MaxBuffer: 10}); err != nil {
			t.Fatal(err)
		}
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error)
		go func() { done <- inf.Run(runCtx) }()
		time.Sleep(100*call + call/2) // mid-call, with most of the list waiting
		cached := inf.Reader().Len()
		cancel()
		began := time.Now()
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
		if took := time.Since(began); took > call {
			t.Errorf("Run returned %v after ctx ended, want at most one handler call (%v)", took, call)
		}
		if n := inf.Reader().Len(); n > cached+1 {
			t.Errorf("the cache grew from %d to %d objects after ctx ended: the applier went on with its batch", cached, n)
		}
	})
}

// TestAddHandlerRefusedOnceStopping checks that AddHandler fails with
// ErrStopped as soon as Run's context has ended, even while Run still waits
// for a handler's call: a handler added then would never be stopped.
func TestAddHandlerRefusedOnceStopping(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStore(t)
		_, _ = s.Create(ctx, pod("ns", "a"))
		inf := newInformer(t, s, informer.Options[*Pod]{})
		release := make(chan struct{})
		added := make(chan error, 1)
		h := informer.HandlerFuncs[*Pod]{AddFunc: func(*Pod, bool) {
			<-release
			_, err := inf.AddHandler(&recorder{}, informer.HandlerOptions{})
			added <- err
		}}
		if _, err := inf.AddHandler(h, informer.HandlerOptions{}); err != nil {
			t.Fatal(err)
		}
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error)
		go func() { done <- inf.Run(runCtx) }()
		synctest.Wait() // the handler is in its call
		cancel()
		synctest.Wait() // Run waits for the handler
		close(release)
		if err := <-added; !errors.Is(err, informer.ErrStopped) {
			t.Errorf("AddHandler after ctx ended = %v, want ErrStopped", err)
		}
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	})
}
