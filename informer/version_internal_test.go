package informer

import (
	"testing"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/deltafifo"
	"github.com/controlloop/controlloop/memstore"
)

type vpod struct{ controlloop.ObjectMeta }

func (p *vpod) DeepCopy() *vpod { c := *p; return &c }

// TestBatchAdvancesToItsNewestChange: a batch popped after the reflector
// queued a change but before it reported its progress carries the older
// progress; the informer, which pops every queued key at once, has still
// applied every change up to the newest in the batch, and says so, so that
// a reconcile the change triggers reads at least its version
// (WaitUntilReconciled waited for ever when it did not).
func TestBatchAdvancesToItsNewestChange(t *testing.T) {
	store, err := memstore.New[*vpod](memstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	inf, err := New[*vpod](store, Options[*vpod]{})
	if err != nil {
		t.Fatal(err)
	}
	batch := []deltafifo.Popped[*vpod]{{Deltas: deltafifo.Deltas[*vpod]{
		{Type: deltafifo.Added, Object: &vpod{controlloop.ObjectMeta{Name: "a", ResourceVersion: "9"}}},
		{Type: deltafifo.Updated, Object: &vpod{controlloop.ObjectMeta{Name: "a", ResourceVersion: "12"}}},
	}}}
	if err := inf.process(batch, "7", false); err != nil {
		t.Fatal(err)
	}
	if v, _ := inf.AppliedVersion(); v != "12" {
		t.Errorf("after a batch up to version 12 with progress 7: AppliedVersion = %q, want 12", v)
	}
	if err := inf.process(nil, "20", false); err != nil { // a bookmark
		t.Fatal(err)
	}
	if v, _ := inf.AppliedVersion(); v != "20" {
		t.Errorf("after progress 20: AppliedVersion = %q, want 20", v)
	}
	// A resync queues cached objects at their old versions; it comes with
	// a progress older than what was applied. The version stays.
	resync := []deltafifo.Popped[*vpod]{{Deltas: deltafifo.Deltas[*vpod]{
		{Type: deltafifo.Sync, Object: &vpod{controlloop.ObjectMeta{Name: "a", ResourceVersion: "12"}}},
	}}}
	if err := inf.process(resync, "11", false); err != nil {
		t.Fatal(err)
	}
	if v, _ := inf.AppliedVersion(); v != "20" {
		t.Errorf("after a resync batch at 12 with progress 11: AppliedVersion = %q, want 20 (never back)", v)
	}
}
