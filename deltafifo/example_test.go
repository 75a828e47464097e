package deltafifo_test

import (
	"context"
	"fmt"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/deltafifo"
	"github.com/controlloop/controlloop/indexer"
)

type Pod struct {
	controlloop.ObjectMeta
	Phase string
}

// An informer's loop in miniature: a reflector writes into the FIFO, and
// each popped key's deltas update the cache that the FIFO reads as
// KnownObjects.
func ExampleFIFO() {
	cache, _ := indexer.New(indexer.Options[*Pod]{})
	f, _ := deltafifo.New(deltafifo.Options[*Pod]{KnownObjects: cache})

	pod := func(name, phase string) *Pod {
		return &Pod{ObjectMeta: controlloop.ObjectMeta{Namespace: "web", Name: name}, Phase: phase}
	}
	// The initial list, then watch events.
	_ = f.Replace([]*Pod{pod("a", "Pending"), pod("b", "Running")}, "10")
	_ = f.Update(pod("a", "Running"))
	_ = f.Delete(pod("b", "Running"))
	_ = f.Delete(pod("zombie", "")) // unknown: a no-op

	process := func(ds deltafifo.Deltas[*Pod], initial bool) error {
		for _, d := range ds {
			fmt.Printf("%s %s %s initial=%v\n", d.Type, d.Object.Name, d.Object.Phase, initial)
			if d.Type == deltafifo.Deleted {
				_ = cache.Delete(d.Object)
			} else {
				_ = cache.Update(d.Object)
			}
		}
		return nil
	}
	for f.Len() > 0 {
		_ = f.Pop(context.Background(), process)
	}
	fmt.Println("synced:", f.HasSynced(), "cached:", cache.Len())

	// A relist that lacks a: its deletion was missed, so it is inferred.
	_ = f.Replace(nil, "20")
	_ = f.Pop(context.Background(), func(ds deltafifo.Deltas[*Pod], _ bool) error {
		d := ds.Newest()
		fmt.Println(d.Type, d.Object.Name, "final state unknown:", d.FinalStateUnknown)
		return nil
	})
	// Output:
	// Sync a Pending initial=true
	// Updated a Running initial=true
	// Sync b Running initial=true
	// Deleted b Running initial=true
	// synced: true cached: 1
	// Deleted a final state unknown: true
}
