package deltafifo_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/deltafifo"
	"github.com/controlloop/controlloop/indexer"
)

func objs(n int) []*obj {
	out := make([]*obj, n)
	for i := range out {
		out[i] = &obj{ObjectMeta: controlloop.ObjectMeta{Namespace: "ns-" + strconv.Itoa(i%10), Name: "obj-" + strconv.Itoa(i)}, Val: i}
	}
	return out
}

var nop = func(deltafifo.Deltas[*obj], bool) error { return nil }

// BenchmarkAddPop adds one object and pops it.
func BenchmarkAddPop(b *testing.B) {
	f := newFIFO(b, deltafifo.Options[*obj]{})
	list := objs(1000)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = f.Add(list[i%len(list)])
		_ = f.Pop(ctx, nop)
		i++
	}
}

// BenchmarkReplace relists 100k objects into a FIFO whose KnownObjects
// hold them all, then drains it.
func BenchmarkReplace(b *testing.B) {
	list := objs(100_000)
	known, _ := indexer.New(indexer.Options[*obj]{})
	_ = known.Replace(list, "")
	b.ReportAllocs()
	for b.Loop() {
		f := newFIFO(b, deltafifo.Options[*obj]{KnownObjects: known})
		if err := f.Replace(list, "1"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(list))*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
}
