package clientgo

import (
	"context"
	"strconv"
	"testing"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/deltafifo"
	"github.com/controlloop/controlloop/indexer"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// benchObj is both a Kubernetes object (for client-go, through the embedded
// metav1.ObjectMeta and its key and namespace functions) and a controlloop
// Object, so that both implementations store the very same values.
type benchObj struct {
	metav1.ObjectMeta
	meta controlloop.ObjectMeta
	Val  int
}

func (o *benchObj) GetObjectMeta() *controlloop.ObjectMeta { return &o.meta }

func benchObjs(n int) []*benchObj {
	out := make([]*benchObj, n)
	for i := range out {
		ns, name := "ns-"+strconv.Itoa(i%10), "obj-"+strconv.Itoa(i)
		out[i] = &benchObj{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, ResourceVersion: "1"},
			meta:       controlloop.ObjectMeta{Namespace: ns, Name: name, ResourceVersion: "1"},
			Val:        i,
		}
	}
	return out
}

func anys(objs []*benchObj) []any {
	out := make([]any, len(objs))
	for i, o := range objs {
		out[i] = o
	}
	return out
}

func clientgoIndexer() cache.Indexer {
	return cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
}

func TestBenchObjKeys(t *testing.T) {
	o := benchObjs(3)[2]
	k, err := cache.MetaNamespaceKeyFunc(o)
	if err != nil || k != controlloop.KeyOf(o).String() {
		t.Fatalf("keys differ: %q, %v vs %v", k, err, controlloop.KeyOf(o))
	}
}

// BenchmarkFIFOAddPop adds one object and pops its key, over 1000 keys.
func BenchmarkFIFOAddPop(b *testing.B) {
	list := benchObjs(1000)
	b.Run("impl=controlloop", func(b *testing.B) {
		f, _ := deltafifo.New(deltafifo.Options[*benchObj]{})
		ctx := context.Background()
		process := func(deltafifo.Deltas[*benchObj], bool) error { return nil }
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := f.Add(list[i%len(list)]); err != nil {
				b.Fatal(err)
			}
			if err := f.Pop(ctx, process); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("impl=clientgo", func(b *testing.B) {
		f := cache.NewDeltaFIFOWithOptions(cache.DeltaFIFOOptions{KeyFunction: cache.MetaNamespaceKeyFunc})
		process := func(any, bool) error { return nil }
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := f.Add(list[i%len(list)]); err != nil {
				b.Fatal(err)
			}
			if _, err := f.Pop(process); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// BenchmarkFIFOReplace relists 100k objects into a fresh FIFO, with
// known objects holding none of them (an initial list) or all of them (a
// relist of an unchanged world, which checks every known key for deletion).
func BenchmarkFIFOReplace(b *testing.B) {
	list := benchObjs(100_000)
	list2 := anys(list)
	for _, full := range []bool{false, true} {
		name := "known=none"
		if full {
			name = "known=full"
		}
		b.Run(name+"/impl=controlloop", func(b *testing.B) {
			known, _ := indexer.New(indexer.Options[*benchObj]{})
			if full {
				_ = known.Replace(list, "")
			}
			b.ReportAllocs()
			for b.Loop() {
				f, _ := deltafifo.New(deltafifo.Options[*benchObj]{KnownObjects: known})
				if err := f.Replace(list, "1"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/impl=clientgo", func(b *testing.B) {
			known := clientgoIndexer()
			if full {
				_ = known.Replace(list2, "")
			}
			b.ReportAllocs()
			for b.Loop() {
				f := cache.NewDeltaFIFOWithOptions(cache.DeltaFIFOOptions{KeyFunction: cache.MetaNamespaceKeyFunc, KnownObjects: known})
				if err := f.Replace(list2, "1"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
