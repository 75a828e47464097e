package deltafifo_test

import (
	"context"
	"testing"

	"github.com/controlloop/controlloop/deltafifo"
)

// TestProgress: a batch that takes every queued key carries the last
// Progress, one that leaves keys behind carries none, and a Progress on an
// empty FIFO makes PopBatch return with an empty batch and that version.
func TestProgress(t *testing.T) {
	f := newFIFO(t, deltafifo.Options[*obj]{KnownObjects: &literal{}})
	pop := func(limit int) (n int, version string) {
		t.Helper()
		err := f.PopBatch(context.Background(), limit, func(b []deltafifo.Popped[*obj], v string) error {
			n, version = len(b), v
			return nil
		})
		must(t, err)
		return n, version
	}
	must(t, f.Add(mk("a", 1)))
	must(t, f.Add(mk("b", 2)))
	f.Progress("2")
	if n, v := pop(1); n != 1 || v != "" {
		t.Errorf("batch leaving a key behind: %d keys, version %q; want 1 key, no version", n, v)
	}
	if n, v := pop(10); n != 1 || v != "2" {
		t.Errorf("batch taking the rest: %d keys, version %q; want 1 key, version 2", n, v)
	}
	f.Progress("7") // a bookmark: nothing queued
	if n, v := pop(10); n != 0 || v != "7" {
		t.Errorf("after a bookmark: %d keys, version %q; want an empty batch at 7", n, v)
	}
}
