package indexer

import (
	"runtime"
	"strconv"
	"sync"
	"testing"

	"github.com/controlloop/controlloop"
)

func filled(b *testing.B, n int) (*Indexer[*thing], []*thing) {
	ix, _ := New(Options[*thing]{})
	objs := make([]*thing, n)
	for i := range objs {
		objs[i] = mkN(i)
		if err := ix.Add(objs[i]); err != nil {
			b.Fatal(err)
		}
	}
	return ix, objs
}

// BenchmarkUpdate replaces existing objects, namespace index only.
func BenchmarkUpdate(b *testing.B) {
	ix, objs := filled(b, 5000)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		o := objs[i%len(objs)]
		if err := ix.Update(o); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkAddDelete adds a new object and deletes it again.
func BenchmarkAddDelete(b *testing.B) {
	ix, _ := filled(b, 5000)
	extra := make([]*thing, 1000)
	for i := range extra {
		extra[i] = mkN(10000 + i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		o := extra[i%len(extra)]
		_ = ix.Add(o)
		_ = ix.Delete(o)
		i++
	}
}

// BenchmarkByIndex lists one namespace of 500 objects.
func BenchmarkByIndex(b *testing.B) {
	ix, _ := filled(b, 5000)
	b.ReportAllocs()
	for b.Loop() {
		objs, _ := ix.ByIndex(NamespaceIndex, "ns-3")
		if len(objs) != 500 {
			b.Fatal(len(objs))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/500, "ns/object")
}

// BenchmarkReplace loads 100k objects.
func BenchmarkReplace(b *testing.B) {
	objs := make([]*thing, 100_000)
	for i := range objs {
		objs[i] = mkN(i)
	}
	ix, _ := New(Options[*thing]{})
	b.ReportAllocs()
	for b.Loop() {
		_ = ix.Replace(objs, "")
	}
	b.ReportMetric(float64(len(objs))*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
}

// BenchmarkUpdateWithReaders measures writer throughput while 10 readers
// list namespaces without pause, at 10k objects.
func BenchmarkUpdateWithReaders(b *testing.B) {
	ix, objs := filled(b, 10_000)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for r := range 10 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				_, _ = ix.ByIndex(NamespaceIndex, "ns-"+strconv.Itoa((r+i)%10))
			}
		})
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = ix.Update(objs[i%len(objs)])
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
	close(stop)
	wg.Wait()
}

// BenchmarkBytesPerObject reports the heap held per cached object.
func BenchmarkBytesPerObject(b *testing.B) {
	objs := make([]*thing, 10_000)
	for i := range objs {
		objs[i] = mkN(i)
	}
	var before, after runtime.MemStats
	for b.Loop() {
		runtime.GC()
		runtime.ReadMemStats(&before)
		ix, _ := New(Options[*thing]{})
		for _, o := range objs {
			_ = ix.Add(o)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(ix)
	}
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(len(objs)), "B/object")
}

// BenchmarkHas looks up each of 100k keys once, in list order (as a FIFO
// relist does).
func BenchmarkHas(b *testing.B) {
	objs := make([]*thing, 100_000)
	for i := range objs {
		objs[i] = mkN(i)
	}
	ix, _ := New(Options[*thing]{})
	_ = ix.Replace(objs, "")
	b.ReportAllocs()
	for b.Loop() {
		for _, o := range objs {
			if !ix.Has(controlloop.KeyOf(o)) {
				b.Fatal("missing")
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(objs)), "ns/lookup")
}

// BenchmarkCountKeys is BenchmarkHas with the lookups batched.
func BenchmarkCountKeys(b *testing.B) {
	objs := make([]*thing, 100_000)
	keys := make([]controlloop.Key, len(objs))
	for i := range objs {
		objs[i] = mkN(i)
		keys[i] = controlloop.KeyOf(objs[i])
	}
	ix, _ := New(Options[*thing]{})
	_ = ix.Replace(objs, "")
	b.ReportAllocs()
	for b.Loop() {
		for i := 0; i < len(keys); i += 64 {
			if ix.CountKeys(keys[i:min(i+64, len(keys))]) != min(64, len(keys)-i) {
				b.Fatal("missing")
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(objs)), "ns/lookup")
}
