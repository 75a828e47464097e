package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/memstore"
)

// TestConcurrentWritesWatchesLists runs writers, watchers and paged listers
// at once (under -race). The history is small, so some watchers fall out of
// it: each resumes from its last
// version, or lists again on ErrExpired, and must see every version exactly
// once, in order, between those recoveries.
func TestConcurrentWritesWatchesLists(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := must(memstore.New[*Pod](memstore.Options{HistorySize: 64}))
	const writers, opsEach, watchers = 4, 300, 4

	done := make(chan struct{}) // closed once writes end
	var end uint64              // the last version, set before done closes
	var wg sync.WaitGroup
	for w := range watchers {
		wg.Go(func() {
			var last uint64
			target := ^uint64(0)
			finished := done
			relists, rewatches := 0, 0
			for last != target {
				wctx, stop := context.WithCancel(ctx)
				ch, err := s.Watch(wctx, controlloop.WatchOptions{ResourceVersion: strconv.FormatUint(last, 10)})
				if errors.Is(err, controlloop.ErrExpired) {
					stop()
					res, err := s.List(ctx, controlloop.ListOptions{})
					if err != nil {
						t.Errorf("watcher %d: list: %v", w, err)
						return
					}
					last, _ = strconv.ParseUint(res.ResourceVersion, 10, 64)
					relists++
					continue
				}
				if err != nil {
					t.Errorf("watcher %d: watch: %v", w, err)
					stop()
					return
				}
			read:
				for {
					select {
					case <-finished:
						target, finished = end, nil
						if last == target {
							break read
						}
					case ev, ok := <-ch:
						if !ok {
							rewatches++
							break read
						}
						if ev.Type == controlloop.Error {
							if !errors.Is(ev.Err, controlloop.ErrExpired) {
								t.Errorf("watcher %d: %v", w, ev.Err)
							}
							continue
						}
						rv, _ := strconv.ParseUint(ev.ResourceVersion, 10, 64)
						if rv != last+1 {
							t.Errorf("watcher %d: version %d after %d", w, rv, last)
							stop()
							return
						}
						last = rv
						if last == target {
							break read
						}
					}
				}
				stop()
			}
			t.Logf("watcher %d: %d relists, %d re-watches", w, relists, rewatches)
		})
	}

	var lwg sync.WaitGroup
	listCtx, stopLists := context.WithCancel(ctx)
	lwg.Go(func() {
		for listCtx.Err() == nil {
			first, err := s.List(ctx, controlloop.ListOptions{Limit: 5})
			if err != nil {
				t.Errorf("list: %v", err)
				return
			}
			opts := controlloop.ListOptions{Limit: 5, Continue: first.Continue}
			seen := map[controlloop.Key]bool{}
			for opts.Continue != "" {
				res, err := s.List(ctx, opts)
				if errors.Is(err, controlloop.ErrExpired) {
					break
				}
				if err != nil {
					t.Errorf("list page: %v", err)
					return
				}
				if res.ResourceVersion != first.ResourceVersion {
					t.Errorf("page at %s, list at %s", res.ResourceVersion, first.ResourceVersion)
				}
				for _, p := range res.Items {
					if seen[controlloop.KeyOf(p)] {
						t.Errorf("%v listed twice", controlloop.KeyOf(p))
					}
					seen[controlloop.KeyOf(p)] = true
				}
				opts.Continue = res.Continue
			}
		}
	})

	var wwg sync.WaitGroup
	for w := range writers {
		wwg.Go(func() {
			for i := range opsEach {
				name := fmt.Sprintf("w%d-%d", w, i%10)
				key := controlloop.Key{Namespace: "ns", Name: name}
				p, err := s.Get(ctx, key)
				switch {
				case errors.Is(err, controlloop.ErrNotFound):
					_, err = s.Create(ctx, pod("ns", name, nil))
				case i%3 == 0:
					err = s.Delete(ctx, key, controlloop.DeleteOptions{})
				default:
					p.Spec = strconv.Itoa(i)
					_, err = s.Update(ctx, p)
				}
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		})
	}
	wwg.Wait()
	stopLists()
	lwg.Wait()
	end, _ = strconv.ParseUint(s.ResourceVersion(), 10, 64)
	if end != writers*opsEach {
		t.Errorf("store at version %d after %d writes", end, writers*opsEach)
	}
	close(done)
	wg.Wait()
}
