package deltafifo_test

import (
	"context"
	"fmt"
	"iter"
	"testing"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/deltafifo"
	"github.com/controlloop/controlloop/indexer"
)

// obj is the object type of these tests.
type obj struct {
	controlloop.ObjectMeta
	Val int
}

func mk(name string, val int) *obj {
	return &obj{ObjectMeta: controlloop.ObjectMeta{Name: name}, Val: val}
}

func (o *obj) String() string { return fmt.Sprintf("%s=%d", o.Name, o.Val) }

func key(name string) controlloop.Key { return controlloop.Key{Name: name} }

// Store is the reflector's sink, copied here so that deltafifo does not
// import reflector: the FIFO must satisfy it.
type Store[T controlloop.Object] interface {
	Add(obj T) error
	Update(obj T) error
	Delete(obj T) error
	Replace(items []T, resourceVersion string) error
	Resync() error
}

var (
	_ Store[*obj]                           = (*deltafifo.FIFO[*obj])(nil)
	_ deltafifo.KnownObjects[*obj]          = (*indexer.Indexer[*obj])(nil)
	_ deltafifo.ProcessFunc[*obj]           = func(deltafifo.Deltas[*obj], bool) error { return nil }
	_ deltafifo.KnownObjects[*obj]          = literal(nil)
	_ interface{ Len() int }                = (*deltafifo.FIFO[*obj])(nil)
	_ interface{ HasSynced() bool }         = (*deltafifo.FIFO[*obj])(nil)
	_ interface{ Synced() <-chan struct{} } = (*deltafifo.FIFO[*obj])(nil)
)

// literal is a fixed KnownObjects, like client-go's literalListerGetter.
type literal []*obj

func (l literal) Get(k controlloop.Key) (*obj, bool) {
	for _, o := range l {
		if controlloop.KeyOf(o) == k {
			return o, true
		}
	}
	return nil, false
}

func (l literal) All() iter.Seq2[controlloop.Key, *obj] {
	return func(yield func(controlloop.Key, *obj) bool) {
		for _, o := range l {
			if !yield(controlloop.KeyOf(o), o) {
				return
			}
		}
	}
}

func newFIFO(t tb, opts deltafifo.Options[*obj]) *deltafifo.FIFO[*obj] {
	t.Helper()
	f, err := deltafifo.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// pop pops one key, which must be queued.
func pop(t testing.TB, f *deltafifo.FIFO[*obj]) (deltafifo.Deltas[*obj], bool) {
	t.Helper()
	if f.Len() == 0 {
		t.Fatal("pop: nothing queued")
	}
	var got deltafifo.Deltas[*obj]
	var initial bool
	err := f.Pop(context.Background(), func(d deltafifo.Deltas[*obj], in bool) error {
		got, initial = d, in
		return nil
	})
	if err != nil {
		t.Fatalf("Pop: %v", err)
	}
	return got, initial
}

// d builds a Delta.
func d(t deltafifo.DeltaType, o *obj) deltafifo.Delta[*obj] {
	return deltafifo.Delta[*obj]{Type: t, Object: o}
}

// tomb builds a Deleted delta with FinalStateUnknown.
func tomb(o *obj) deltafifo.Delta[*obj] {
	return deltafifo.Delta[*obj]{Type: deltafifo.Deleted, Object: o, FinalStateUnknown: true}
}

func must(t tb, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// tb is what both *testing.T and *rapid.T provide.
type tb interface {
	Helper()
	Fatal(args ...any)
}
