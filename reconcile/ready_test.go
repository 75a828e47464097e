package reconcile_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/reconcile"
	"github.com/controlloop/controlloop/reflector"
)

// TestManagerReady checks the Manager's readiness (issue 13, item 3): not
// ready until its informers have synced, not ready while one fails to watch
// its source, ready again once it has recovered; a cache that does not
// report readiness counts as ready.
func TestManagerReady(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		quiet := slog.New(slog.DiscardHandler)
		store, err := memstore.New[*Parent](memstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		inf, err := informer.New[*Parent](store, informer.Options[*Parent]{Name: "parents", Logger: quiet, Reflector: reflector.Options{Logger: quiet}})
		if err != nil {
			t.Fatal(err)
		}
		var m reconcile.Manager
		var mu sync.Mutex
		var log []string
		m.AddCache(stepRunner{name: "other", log: &log, mu: &mu})
		m.AddCache(inf)
		if err := m.Ready(); !errors.Is(err, informer.ErrNotSynced) {
			t.Errorf("before Run: Ready() = %v, want ErrNotSynced", err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- m.Run(ctx) }()
		synctest.Wait()
		if err := m.Ready(); err != nil {
			t.Errorf("once synced: Ready() = %v, want nil", err)
		}
		lost := errors.New("connection lost")
		store.FailWatches(lost)
		synctest.Wait()
		if err := m.Ready(); !errors.Is(err, lost) {
			t.Errorf("after a failed watch: Ready() = %v, want the watch's error", err)
		}
		time.Sleep(3 * time.Minute) // the new watch has been up for BackoffReset
		if err := m.Ready(); err != nil {
			t.Errorf("once the watch is up again: Ready() = %v, want nil", err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
}
