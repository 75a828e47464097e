package clientgo

import (
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/indexer"
	"k8s.io/client-go/tools/cache"
)

func filledIndexers(b *testing.B, n int) ([]*benchObj, *indexer.Indexer[*benchObj], cache.Indexer) {
	list := benchObjs(n)
	ours, _ := indexer.New(indexer.Options[*benchObj]{})
	theirs := clientgoIndexer()
	for _, o := range list {
		if err := ours.Add(o); err != nil {
			b.Fatal(err)
		}
		if err := theirs.Add(o); err != nil {
			b.Fatal(err)
		}
	}
	return list, ours, theirs
}

// BenchmarkIndexerUpdate updates existing objects at 5000 keys, with the
// namespace index.
func BenchmarkIndexerUpdate(b *testing.B) {
	list, ours, theirs := filledIndexers(b, 5000)
	b.Run("impl=controlloop", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			_ = ours.Update(list[i%len(list)])
			i++
		}
	})
	b.Run("impl=clientgo", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			_ = theirs.Update(list[i%len(list)])
			i++
		}
	})
}

// BenchmarkIndexerAddDelete adds a new object and deletes it, at 5000 keys.
func BenchmarkIndexerAddDelete(b *testing.B) {
	_, ours, theirs := filledIndexers(b, 5000)
	extra := benchObjs(6000)[5000:]
	b.Run("impl=controlloop", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			o := extra[i%len(extra)]
			_ = ours.Add(o)
			_ = ours.Delete(o)
			i++
		}
	})
	b.Run("impl=clientgo", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			o := extra[i%len(extra)]
			_ = theirs.Add(o)
			_ = theirs.Delete(o)
			i++
		}
	})
}

// BenchmarkIndexerByIndex lists one namespace (500 of 5000 objects).
func BenchmarkIndexerByIndex(b *testing.B) {
	_, ours, theirs := filledIndexers(b, 5000)
	b.Run("impl=controlloop", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			seq, _ := ours.ByIndex(indexer.NamespaceIndex, "ns-3")
			if got := controlloop.Collect(seq); len(got) != 500 {
				b.Fatal(len(got))
			}
		}
	})
	b.Run("impl=clientgo", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if got, _ := theirs.ByIndex(cache.NamespaceIndex, "ns-3"); len(got) != 500 {
				b.Fatal(len(got))
			}
		}
	})
}

// BenchmarkIndexerGet reads one object by key at 5000 and 100k keys; client-go's
// listers build the "namespace/name" string for each call, so this does too.
func BenchmarkIndexerGet(b *testing.B) {
	for _, n := range []int{5000, 100_000} {
		list, ours, theirs := filledIndexers(b, n)
		b.Run(fmt.Sprintf("keys=%d/impl=controlloop", n), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				o := list[i%len(list)]
				if _, ok := ours.Get(controlloop.Key{Namespace: o.Namespace, Name: o.Name}); !ok {
					b.Fatal("missing")
				}
				i++
			}
		})
		b.Run(fmt.Sprintf("keys=%d/impl=clientgo", n), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				o := list[i%len(list)]
				if _, ok, _ := theirs.GetByKey(o.Namespace + "/" + o.Name); !ok {
					b.Fatal("missing")
				}
				i++
			}
		})
	}
}

// BenchmarkIndexerBytesPerObject reports the heap an indexer holds per
// cached object (keys, maps, index sets; not the objects themselves), for
// n objects added one by one: 10k and 100k, and 1M with -huge.
func BenchmarkIndexerBytesPerObject(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
			skipHuge(b, n)
			list := benchObjs(n)
			measure := func(b *testing.B, fill func() any) {
				var before, after runtime.MemStats
				var perObject float64
				for b.Loop() {
					runtime.GC()
					runtime.ReadMemStats(&before)
					keep := fill()
					runtime.GC()
					runtime.ReadMemStats(&after)
					runtime.KeepAlive(keep)
					perObject = (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / float64(len(list))
				}
				b.ReportMetric(perObject, "B/object")
			}
			b.Run("impl=controlloop", func(b *testing.B) {
				measure(b, func() any {
					ix, _ := indexer.New(indexer.Options[*benchObj]{})
					for _, o := range list {
						_ = ix.Add(o)
					}
					return ix
				})
			})
			b.Run("impl=clientgo", func(b *testing.B) {
				measure(b, func() any {
					ix := clientgoIndexer()
					for _, o := range list {
						_ = ix.Add(o)
					}
					return ix
				})
			})
		})
	}
}

// BenchmarkIndexerUpdateWithReaders measures writer throughput at 10k
// objects while 10 goroutines list namespaces (ByIndex) without pause.
// client-go's writer is so slow here that a time-based run can take
// minutes on a loaded machine: run it with a fixed count, e.g.
// -bench IndexerUpdateWithReaders/impl=clientgo -benchtime 2000x.
func BenchmarkIndexerUpdateWithReaders(b *testing.B) {
	list, ours, theirs := filledIndexers(b, 10_000)
	run := func(b *testing.B, update func(*benchObj), read func(ns string)) {
		stop := make(chan struct{})
		var wg, ready sync.WaitGroup
		ready.Add(10)
		for r := range 10 {
			wg.Go(func() {
				for i := 0; ; i++ {
					if i == 1 {
						ready.Done() // every reader is running before the clock starts
					}
					select {
					case <-stop:
						return
					default:
					}
					read("ns-" + strconv.Itoa((r+i)%10))
				}
			})
		}
		ready.Wait()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			update(list[i%len(list)])
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
		close(stop)
		wg.Wait()
	}
	b.Run("impl=controlloop", func(b *testing.B) {
		run(b, func(o *benchObj) { _ = ours.Update(o) }, func(ns string) {
			seq, _ := ours.ByIndex(indexer.NamespaceIndex, ns)
			_ = controlloop.Collect(seq)
		})
	})
	b.Run("impl=clientgo", func(b *testing.B) {
		run(b, func(o *benchObj) { _ = theirs.Update(o) }, func(ns string) {
			_, _ = theirs.ByIndex(cache.NamespaceIndex, ns)
		})
	})
}
