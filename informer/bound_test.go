package informer_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/informer"
)

// TestFactoryRunBound checks Factory.Run's stated bound (issue 12, item 2):
// once ctx ends it returns as soon as its slowest informer has, here one
// whose bounded handler is mid-call, within that handler call.
func TestFactoryRunBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const call = 50 * time.Millisecond
		pods, other := newStore(t), newStore(t)
		for i := range 100 {
			_, _ = pods.Create(ctx, pod("ns", "p"+itoa(i)))
		}
		var f informer.Factory
		slow, err := informer.Shared[*Pod](&f, pods, quietOpts[*Pod](controlloop.Selector{}))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := slow.AddHandler(sleeping{call}, informer.HandlerOptions{MaxBuffer: 10}); err != nil {
			t.Fatal(err)
		}
		if _, err := informer.Shared[*Pod](&f, other, quietOpts[*Pod](controlloop.Selector{Namespace: "other"})); err != nil {
			t.Fatal(err)
		}
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error)
		go func() { done <- f.Run(runCtx) }()
		time.Sleep(20*call + call/2) // mid-call, with most of the list waiting
		cancel()
		began := time.Now()
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
		if took := time.Since(began); took > call {
			t.Errorf("Factory.Run returned %v after ctx ended, want at most one handler call (%v)", took, call)
		}
	})
}
