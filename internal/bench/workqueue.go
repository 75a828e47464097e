package bench

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/workqueue"
)

// Queue is the part of a work queue the workloads use. client-go's typed
// queues and controller-runtime's priority queue have it as they are; wrap a
// [workqueue.Queue] with [Workqueue].
type Queue[T comparable] interface {
	Add(item T)
	AddAfter(item T, delay time.Duration)
	Get() (item T, shutdown bool)
	Done(item T)
	ShutDown()
}

// Workqueue adapts q to [Queue].
func Workqueue[T comparable](q *workqueue.Queue[T]) Queue[T] { return wq[T]{q} }

type wq[T comparable] struct{ *workqueue.Queue[T] }

func (q wq[T]) Get() (T, bool) {
	item, err := q.Queue.Get(context.Background())
	return item, err != nil
}

// Keys returns n distinct keys spread over 10 namespaces.
func Keys(n int) []controlloop.Key {
	keys := make([]controlloop.Key, n)
	for i := range keys {
		keys[i] = controlloop.Key{Namespace: "ns-" + strconv.Itoa(i%10), Name: "object-" + strconv.Itoa(i)}
	}
	return keys
}

// AddGetDone measures one Add, Get and Done of a distinct key per op, on a
// queue kept 100 items deep, as a controller's queue is under steady load.
func AddGetDone(b *testing.B, q Queue[controlloop.Key]) {
	const depth = 100
	keys := Keys(10_000)
	for _, k := range keys[:depth] {
		q.Add(k)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		q.Add(keys[(i+depth)%len(keys)])
		item, _ := q.Get()
		q.Done(item)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
	q.ShutDown()
}

// Parallel measures producers adding b.N keys while workers Get and Done
// them, until the queue has been drained after shutdown.
func Parallel(b *testing.B, newQueue func() Queue[controlloop.Key], producers, workers int) {
	keys := Keys(10_000)
	q := newQueue()
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				item, shutdown := q.Get()
				if shutdown {
					return
				}
				q.Done(item)
			}
		})
	}
	var pwg sync.WaitGroup
	for p := range producers {
		pwg.Go(func() {
			for i := p; i < b.N; i += producers {
				q.Add(keys[i%len(keys)])
			}
		})
	}
	pwg.Wait()
	q.ShutDown()
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
}

// AddAfterDrain measures delaying n distinct keys (fewer if b.N is smaller)
// by up to 10ms each, then draining them all as they come due. One op is one
// key.
func AddAfterDrain(b *testing.B, newQueue func() Queue[controlloop.Key], n int) {
	keys := Keys(n)
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; done += n {
		round := keys[:min(n, b.N-done)]
		q := newQueue()
		for i, k := range round {
			q.AddAfter(k, time.Duration(i%1000)*10*time.Microsecond)
		}
		for range round {
			item, _ := q.Get()
			q.Done(item)
		}
		q.ShutDown()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
}

// HotKey measures adds of one key that is already queued: the
// deduplication path. Every 100 adds, the key is processed once (a Get and a
// Done). One op is one add.
func HotKey(b *testing.B, q Queue[controlloop.Key]) {
	const addsPerCycle = 100
	hot := controlloop.Key{Namespace: "default", Name: "hot"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		q.Add(hot)
		if i%addsPerCycle == addsPerCycle-1 {
			item, _ := q.Get()
			q.Done(item)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "adds/s")
	q.ShutDown()
}
