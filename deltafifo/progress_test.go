package deltafifo_test

import (
	"context"
	"errors"
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
		err := f.PopBatch(context.Background(), limit, func(b []deltafifo.Popped[*obj], v string, _ bool) error {
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

// TestRelisted: PopBatch reports a relist (a Replace after the initial
// list's) once, with the first batch that takes every queued key after it;
// a relist that queued nothing wakes a waiting PopBatch with an empty
// batch; a batch that fails leaves the relist to be reported again.
func TestRelisted(t *testing.T) {
	f := newFIFO(t, deltafifo.Options[*obj]{KnownObjects: &literal{}})
	fail := errors.New("injected")
	pop := func(limit int, err error) (n int, relisted bool) {
		t.Helper()
		got := f.PopBatch(context.Background(), limit, func(b []deltafifo.Popped[*obj], _ string, r bool) error {
			n, relisted = len(b), r
			return err
		})
		if !errors.Is(got, err) {
			t.Fatalf("PopBatch: err = %v, want %v", got, err)
		}
		return n, relisted
	}
	must(t, f.Replace([]*obj{mk("a", 1)}, "1"))
	if n, r := pop(10, nil); n != 1 || r {
		t.Errorf("initial list: %d keys, relisted %v; want 1 key, not relisted", n, r)
	}
	must(t, f.Replace([]*obj{mk("a", 1), mk("b", 2)}, "2"))
	if n, r := pop(1, nil); n != 1 || r {
		t.Errorf("a relist's first key of two: %d keys, relisted %v; want 1 key, not relisted", n, r)
	}
	if n, r := pop(1, fail); n != 1 || !r {
		t.Errorf("a relist's last key, failing: %d keys, relisted %v; want 1 key, relisted", n, r)
	}
	if n, r := pop(10, nil); n != 1 || !r {
		t.Errorf("the failed key again: %d keys, relisted %v; want 1 key, relisted again", n, r)
	}
	f.Progress("3")
	if n, r := pop(10, nil); n != 0 || r {
		t.Errorf("a bookmark: %d keys, relisted %v; want none, not relisted", n, r)
	}
	// A relist that changes nothing the FIFO holds: an empty list, with
	// KnownObjects empty, queues nothing, but PopBatch returns for it.
	must(t, f.Replace(nil, "4"))
	if n, r := pop(10, nil); n != 0 || !r {
		t.Errorf("a relist that queued nothing: %d keys, relisted %v; want none, relisted", n, r)
	}
}
