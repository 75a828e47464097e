package informer_test

import (
	"runtime"
	"strconv"
	"testing"
	"testing/synctest"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/informer"
)

// TestOneCache (issue 14, "One cache"): a synced informer holds its
// objects once, in the indexer: the heap it holds per object, beyond the
// objects themselves (copied out of the store by its List), stays under
// 170 B. Before issue 14 it held 295 B: it also kept a map of the objects
// (its FIFO's known objects), and the FIFO kept its map of slots at the
// size of the first list (192 B with the map alone).
func TestOneCache(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a store of 20k objects")
	}
	synctest.Test(t, func(t *testing.T) {
		const n = 20_000
		s := newStore(t)
		for i := range n {
			if _, err := s.Create(ctx, pod("ns-"+strconv.Itoa(i%10), "p"+strconv.Itoa(i))); err != nil {
				t.Fatal(err)
			}
		}
		objects := heapDelta(func() any {
			l, _ := s.List(ctx, controlloop.ListOptions{})
			return l
		})
		inf := newInformer(t, s, informer.Options[*Pod]{})
		var held float64
		stop := func() {}
		held = heapDelta(func() any {
			stop = start(inf)
			synctest.Wait()
			return inf
		})
		if !inf.HasSynced() || inf.Reader().Len() != n {
			t.Fatalf("informer synced %v with %d objects, want %d", inf.HasSynced(), inf.Reader().Len(), n)
		}
		stop()
		perObject := (held - objects) / n
		t.Logf("a synced informer holds %.0f B per object beyond the objects", perObject)
		if perObject > 170 {
			t.Errorf("a synced informer holds %.0f B per object beyond the objects, want at most 170: a second cache, or a map kept at its largest?", perObject)
		}
	})
}

// heapDelta returns the heap that what fill returns keeps alive.
func heapDelta(fill func() any) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	keep := fill()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(keep)
	return float64(after.HeapAlloc) - float64(before.HeapAlloc)
}
