package reconcile_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop/reconcile"
)

// evenAdmitter admits the requests whose name ends in an even digit, or
// every request once all is set (ownership moved here).
type evenAdmitter struct{ all atomic.Bool }

func (a *evenAdmitter) Admit(req reconcile.Request) bool {
	return a.all.Load() || (req.Name[len(req.Name)-1]-'0')%2 == 0
}

func (a *evenAdmitter) Begin(ctx context.Context, _ reconcile.Request) (context.Context, func(), bool) {
	return ctx, func() {}, true
}

// TestRefusedRequestsLeaveNoReason: a request the Admitter refuses is not
// queued, so no reason is kept for it: when ownership later moves here and
// it is added directly, its reconcile says "direct", not the event it was
// refused for long before.
func TestRefusedRequestsLeaveNoReason(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		adm := &evenAdmitter{}
		var mu sync.Mutex
		reasons := map[string]string{}
		c, err := reconcile.New(reconcile.Func[reconcile.Request](func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
			r, _ := reconcile.ReasonOf(ctx)
			mu.Lock()
			reasons[req.Name] = r.Trigger.String()
			mu.Unlock()
			return reconcile.Result{}, nil
		}), reconcile.Options[reconcile.Request]{Name: "pods", Introspect: true, Logger: quiet, Admitter: adm})
		if err != nil {
			t.Fatal(err)
		}
		b := reconcile.NewBinding(c, reconcile.ForObject[*Pod]())
		for i := range 10 {
			b.OnAdd(pod(fmt.Sprintf("p%d", i), "1"), true)
		}
		stop := run(c)
		defer func() {
			if err := stop(); err != nil {
				t.Error(err)
			}
		}()
		time.Sleep(time.Second)
		synctest.Wait()
		adm.all.Store(true)
		c.Queue().Add(reconcile.Request{Namespace: "ns", Name: "p1"})
		time.Sleep(time.Second)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if got := reasons["p0"]; got != "event" {
			t.Errorf("admitted p0 ran for %q, want event", got)
		}
		if got := reasons["p1"]; got != "direct" {
			t.Errorf("p1, refused at its event and later added directly, ran for %q, want direct", got)
		}
	})
}
