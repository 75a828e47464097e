package shard_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/shard"
)

// Example runs three members of a ring in one process over the in-memory
// coordinator, waits until they share the slots, then kills one: its
// slots move to the two others, and only its slots.
func Example() {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	mem, err := shard.NewMemory(shard.MemoryOptions{})
	if err != nil {
		panic(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	members := map[string]*shard.Member{}
	cancels := map[string]context.CancelFunc{}
	for _, id := range []string{"a", "b", "c"} {
		m, err := shard.New(mem, shard.Options{Ring: "web", ID: id, Slots: 32, Window: 20 * time.Millisecond, Logger: quiet})
		if err != nil {
			panic(err)
		}
		members[id] = m
		mctx, cancel := context.WithCancel(ctx)
		cancels[id] = cancel
		go m.Run(mctx)
	}
	owned := func(ids ...string) string {
		// Wait until the live members own every slot between them.
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
			n, out := 0, ""
			for _, id := range ids {
				n += len(members[id].Owned())
				out += fmt.Sprintf(" %s:%d", id, len(members[id].Owned()))
			}
			if n == 32 {
				return out
			}
			time.Sleep(5 * time.Millisecond)
		}
		return " not converged"
	}
	fmt.Println("slots owned:" + owned("a", "b", "c"))
	key := controlloop.Key{Namespace: "prod", Name: "web-1"}
	fmt.Println("web-1 is in slot", members["a"].Slot(key), "owned by", shard.Owner(members["a"].Slot(key), []string{"a", "b", "c"}))

	// c's process dies: its lease ends at once, and it does not rejoin.
	cancels["c"]()
	mem.Kill("web", "c")
	fmt.Println("after c dies:" + owned("a", "b"))
	// Output:
	// slots owned: a:14 b:12 c:6
	// web-1 is in slot 12 owned by a
	// after c dies: a:18 b:14
}
