package informer

import (
	"strconv"
	"testing"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/indexer"
)

// countingPod counts the calls of GetNamespace, which a selector makes for
// every object a walk looks at.
type countingPod struct {
	controlloop.ObjectMeta
	calls *int
}

func (p *countingPod) GetNamespace() string {
	*p.calls++
	return p.Namespace
}

// TestListWalksOnlyTheNamespace checks Reader.List's cost claim: a selector
// with a namespace walks the namespace index, so it looks at the objects of
// that namespace only.
func TestListWalksOnlyTheNamespace(t *testing.T) {
	var calls int
	idx, err := indexer.New(indexer.Options[*countingPod]{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		ns := "other"
		if i < 10 {
			ns = "mine"
		}
		p := &countingPod{ObjectMeta: controlloop.ObjectMeta{Namespace: ns, Name: strconv.Itoa(i)}, calls: &calls}
		if err := idx.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	r := Reader[*countingPod]{idx: idx}
	calls = 0
	got := controlloop.Collect(r.List(controlloop.Selector{Namespace: "mine"}))
	if len(got) != 10 || calls > 10 {
		t.Errorf("List(namespace mine) returned %d objects and looked at %d; want 10 and at most 10", len(got), calls)
	}
}
