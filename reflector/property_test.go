package reflector_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/reflector"
	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

// TestConvergesAfterFaults is the reflector's property (issue #3): whatever writes and
// faults (broken watches, Error events, expiry, compaction, failing lists
// and watches, a failing store) come in whatever order, once the faults stop
// the sink holds exactly what the store holds, having never seen a change
// out of order; and Run returns, leaving no goroutine, when its context
// ends. It runs in a synctest bubble, so backoff costs no real time.
func TestConvergesAfterFaults(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		rapid.SyncTest(rt, func(rt *rapid.T) {
			ctx := context.Background()
			store := must(memstore.New[*Pod](memstore.Options{
				HistorySize: rapid.IntRange(1, 30).Draw(rt, "history size"),
				// 0: the default, which keeps what a lagging watch needs;
				// small values cut it off, a fault the reflector recovers from.
				MaxWatchLag: rapid.IntRange(0, 60).Draw(rt, "max watch lag"),
			}))
			sel := rapid.SampledFrom([]controlloop.Selector{{}, {Namespace: "a"}}).Draw(rt, "selector")
			sk := newSink()
			r, err := reflector.New[*Pod](store, sk, reflector.Options{
				Selector: sel,
				PageSize: rapid.IntRange(-1, 4).Draw(rt, "page size"),
				Logger:   quiet,
			})
			if err != nil {
				rt.Fatal(err)
			}
			rctx, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			var runErr error // Run's result, read once done is closed
			go func() {
				defer close(done)
				runErr = r.Run(rctx)
			}()
			// Stop the reflector however the property ends, so that a failure
			// is reported as itself, not as goroutines left in the bubble.
			defer func() {
				cancel()
				<-done
			}()

			keyGen := rapid.Custom(func(t *rapid.T) controlloop.Key {
				return controlloop.Key{
					Namespace: rapid.SampledFrom([]string{"a", "b"}).Draw(t, "namespace"),
					Name:      rapid.SampledFrom([]string{"x", "y", "z", "w"}).Draw(t, "name"),
				}
			})
			injected := errors.New("injected")
			steps := rapid.IntRange(1, 60).Draw(rt, "steps")
			for range steps {
				switch op := rapid.IntRange(0, 13).Draw(rt, "op"); op {
				case 0, 1, 2: // create
					k := keyGen.Draw(rt, "key")
					_, _ = store.Create(ctx, pod(k.Namespace, k.Name))
				case 3, 4: // update
					k := keyGen.Draw(rt, "key")
					if p, err := store.Get(ctx, k); err == nil {
						p.Spec = strconv.Itoa(rapid.IntRange(0, 9).Draw(rt, "spec"))
						if _, err := store.Update(ctx, p); err != nil {
							rt.Fatalf("update: %v", err)
						}
					}
				case 5: // delete
					_ = store.Delete(ctx, keyGen.Draw(rt, "key"), controlloop.DeleteOptions{})
				case 6:
					store.BreakWatches()
				case 7:
					store.FailWatches(rapid.SampledFrom([]error{nil, injected}).Draw(rt, "watch error"))
				case 8:
					store.ExpireHistory()
				case 9:
					head, _ := strconv.ParseUint(store.ResourceVersion(), 10, 64)
					_ = store.Compact(strconv.FormatUint(rapid.Uint64Range(0, head).Draw(rt, "compact to"), 10))
				case 10:
					store.FailNextList(injected)
				case 11:
					store.FailNextWatch(rapid.SampledFrom([]error{injected, controlloop.ErrExpired}).Draw(rt, "watch call error"))
				case 12:
					sk.failNext(rapid.SampledFrom([]string{"Add", "Update", "Delete", "Replace"}).Draw(rt, "store method"), injected)
				case 13: // let time pass: the reflector may be mid-backoff
					time.Sleep(time.Duration(rapid.IntRange(0, 5000).Draw(rt, "sleep ms")) * time.Millisecond)
				}
				if rapid.Bool().Draw(rt, "let it catch up") {
					synctest.Wait()
				}
			}

			// Faults stop; those already armed still fire once each, and each
			// costs a backoff of at most 60s (30s cap, doubled by jitter).
			// Within ten minutes of the bubble's fake time the sink must match.
			var diff string
			for range 20 {
				time.Sleep(30 * time.Second)
				synctest.Wait()
				got, _, _ := sk.snapshot()
				diff = cmp.Diff(storeContents(store, sel), got)
				// Without a selector every change reaches the reflector, so
				// it must also have reached the store's version.
				if diff == "" && (sel.Namespace != "" || r.LastSyncResourceVersion() == store.ResourceVersion()) {
					break
				}
			}
			if diff != "" {
				rt.Fatalf("after the faults stopped, sink differs from store (-store +sink):\n%s", diff)
			}
			_, _, violations := sk.snapshot()
			if len(violations) > 0 {
				rt.Fatalf("sink saw out-of-order calls: %v", violations)
			}
			if sel.Namespace == "" {
				if got, want := r.LastSyncResourceVersion(), store.ResourceVersion(); got != want {
					rt.Fatalf("LastSyncResourceVersion() = %s, want %s", got, want)
				}
			}
			cancel()
			<-done
			if runErr != nil {
				rt.Fatalf("Run = %v, want nil once its context ends", runErr)
			}
			// The bubble fails the test if any goroutine it started is left
			// (the deferred stop above is then a no-op).
		})
	})
}
