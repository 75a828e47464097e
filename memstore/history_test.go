package memstore

import (
	"math"
	"testing"

	"github.com/controlloop/controlloop"
)

// TestHistoryKeepsWhatAWatcherNeedsThenShrinks checks the history's bounds:
// it holds size changes; beyond them, those from need on, up to limit; and
// once nothing pins the extra changes, it drops them and gives the memory
// back (at most twice size slots).
func TestHistoryKeepsWhatAWatcherNeedsThenShrinks(t *testing.T) {
	h := history[*histObj]{size: 10, limit: 30}
	push := func(rv, need uint64) {
		h.push(change[*histObj]{rv: rv, typ: controlloop.Added}, need)
	}
	for rv := uint64(1); rv <= 25; rv++ {
		push(rv, 1) // a watcher still needs change 1
	}
	if oldest, _ := h.oldest(); h.n != 25 || oldest != 1 {
		t.Fatalf("pinned at 1: holds %d changes from %d, want 25 from 1", h.n, oldest)
	}
	for rv := uint64(26); rv <= 40; rv++ {
		push(rv, 1)
	}
	if oldest, _ := h.oldest(); h.n != 30 || oldest != 11 {
		t.Fatalf("past the limit: holds %d changes from %d, want the last 30 (from 11)", h.n, oldest)
	}
	push(41, math.MaxUint64) // the watcher caught up
	if oldest, _ := h.oldest(); h.n != 10 || oldest != 32 {
		t.Fatalf("caught up: holds %d changes from %d, want the last 10 (from 32)", h.n, oldest)
	}
	if len(h.buf) > 2*h.size {
		t.Errorf("caught up: %d slots kept for %d changes, want at most %d", len(h.buf), h.n, 2*h.size)
	}
	for rv := uint64(42); rv <= 100; rv++ {
		push(rv, math.MaxUint64)
		if got := h.at(rv).rv; got != rv {
			t.Fatalf("at(%d) = change %d", rv, got)
		}
	}
}

type histObj struct{ controlloop.ObjectMeta }
