package indexer

import (
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

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
		objs, _ := byIndex(ix, NamespaceIndex, "ns-3")
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
				_, _ = byIndex(ix, NamespaceIndex, "ns-"+strconv.Itoa((r+i)%10))
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

// BenchmarkReadLatencyDuringReplace measures reads while another goroutine
// replaces the whole content of 100k objects without pause (issue 14): one
// op is a Get of a random key, or a list of one namespace (10k objects).
// It reports the p50 and p99 latency of the reads, in µs, and how many
// Replaces ran.
func BenchmarkReadLatencyDuringReplace(b *testing.B) {
	objs := make([]*thing, 100_000)
	for i := range objs {
		objs[i] = mkN(i)
	}
	for _, read := range []string{"Get", "ListNamespace"} {
		b.Run("read="+read, func(b *testing.B) {
			ix, _ := New(Options[*thing]{})
			_ = ix.Replace(objs, "")
			stop := make(chan struct{})
			var replaces int
			var wg sync.WaitGroup
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					_ = ix.Replace(objs, "")
					replaces++
				}
			})
			lat := make([]time.Duration, 0, 1<<16)
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				i++
				start := time.Now()
				if read == "Get" {
					if _, ok := ix.Get(controlloop.KeyOf(objs[(i*7919)%len(objs)])); !ok {
						b.Fatal("missing")
					}
				} else {
					seq, _ := ix.ByIndex(NamespaceIndex, "ns-"+strconv.Itoa(i%10))
					n := 0
					for range seq {
						n++
					}
					if n != len(objs)/10 {
						b.Fatal(n)
					}
				}
				if len(lat) < cap(lat) {
					lat = append(lat, time.Since(start))
				}
			}
			close(stop)
			wg.Wait()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
			b.ReportMetric(float64(replaces), "replaces")
		})
	}
}
