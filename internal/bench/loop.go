package bench

import (
	"context"
	"flag"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/reconcile"
	"github.com/controlloop/controlloop/reflector"
)

var loopObjects = flag.Int("loop.objects", 100_000, "how many objects the end-to-end loop benchmarks reconcile (1000000 for the 1M run)")

// LoopObjects returns how many objects the loop benchmarks reconcile: the
// -loop.objects flag, 100k by default.
func LoopObjects() int { return *loopObjects }

// ReconciledPhase is the Phase a writing reconcile gives each object.
const ReconciledPhase = "Reconciled"

// LoopSetup is the shape of one [Loop] benchmark.
type LoopSetup struct {
	// Objects is how many objects the store holds when the loop starts:
	// InformerSetup{Objects: Objects}.Item(i, 0) for each i.
	Objects int
	// Workers is how many reconciles run at once.
	Workers int
	// Write makes the reconcile write each object's status once (Phase
	// ReconciledPhase) through the store; an object is done once a
	// reconcile reads that write back from the informer's cache. Without
	// it, the reconcile only reads the object from the cache, and the
	// object is done at its first reconcile.
	Write bool
}

// LoopImpl is one controller stack (store, informer, queue, workers) over
// a store holding a setup's objects, prepared before the clock starts.
type LoopImpl interface {
	// Run starts the informer and the controller, waits until every object
	// is done (see LoopSetup.Write), stops them and returns once they have
	// returned, with how many times the informer listed and watched.
	Run(b *testing.B) LoopRun
}

// LoopRun is what one run of a [LoopImpl] reports.
type LoopRun struct {
	Lists, Watches int64
}

// NewLoopImpl prepares an implementation for a setup.
type NewLoopImpl func(b *testing.B, setup LoopSetup) LoopImpl

// Loop measures the whole loop: from the start of an informer over a store
// holding setup.Objects objects until every object was reconciled (and,
// with setup.Write, its write read back from the cache), then shutdown. One
// op is one such run. It reports objects/s (the settled rate), peak-MB
// (the largest heap in use during a run, above the heap before it, after a
// GC), allocs/object, and lists/op and watches/op (1 each when the watch
// is never lost).
func Loop(b *testing.B, newImpl NewLoopImpl, setup LoopSetup) {
	b.ReportAllocs()
	var peak, allocs uint64
	var run LoopRun
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		impl := newImpl(b, setup)
		runtime.GC()
		h := startHeapSampler()
		before := heapAllocs()
		b.StartTimer()
		r := impl.Run(b)
		b.StopTimer()
		allocs += heapAllocs() - before
		peak = max(peak, h.stop())
		run.Lists += r.Lists
		run.Watches += r.Watches
	}
	objects := float64(setup.Objects) * float64(b.N)
	b.ReportMetric(objects/b.Elapsed().Seconds(), "objects/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-MB")
	b.ReportMetric(float64(allocs)/objects, "allocs/object")
	b.ReportMetric(float64(run.Lists)/float64(b.N), "lists/op")
	b.ReportMetric(float64(run.Watches)/float64(b.N), "watches/op")
}

func heapAllocs() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:objects"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// LoopDone records which objects of a loop are done.
type LoopDone struct {
	seen []atomic.Bool
	left atomic.Int64
	all  chan struct{}
}

// NewLoopDone returns a LoopDone waiting for objects 0..n-1.
func NewLoopDone(n int) *LoopDone {
	d := &LoopDone{seen: make([]atomic.Bool, n), all: make(chan struct{})}
	d.left.Store(int64(n))
	return d
}

// Mark records that the object named name (ItemName(i)) is done; the
// first mark of the last object closes All.
func (d *LoopDone) Mark(name string) {
	i, err := strconv.Atoi(strings.TrimPrefix(name, "object-"))
	if err != nil || i < 0 || i >= len(d.seen) {
		panic("bench: LoopDone.Mark of an object not in the loop: " + name)
	}
	if !d.seen[i].Swap(true) && d.left.Add(-1) == 0 {
		close(d.all)
	}
}

// All is closed once every object is done.
func (d *LoopDone) All() <-chan struct{} { return d.all }

// ControlloopLoop is the embedded default stack: a memstore with the
// default options, an informer over it, and a reconcile.Controller fed
// through reconcile.Watch with ForObject, run by a reconcile.Manager. A
// writing reconcile writes with memstore's UpdateStatus.
func ControlloopLoop(b *testing.B, setup LoopSetup) LoopImpl {
	store, err := memstore.New[*Item](memstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	is := InformerSetup{Objects: setup.Objects}
	for i := range setup.Objects {
		obj := is.Item(i, 0)
		obj.ResourceVersion = "" // the store versions it
		if _, err := store.Create(context.Background(), obj); err != nil {
			b.Fatal(err)
		}
	}
	return &controlloopLoop{store: store, setup: setup}
}

type controlloopLoop struct {
	store *memstore.Store[*Item]
	setup LoopSetup
}

func (l *controlloopLoop) Run(b *testing.B) LoopRun {
	lw := &countingSource{ListerWatcher: l.store}
	inf, err := informer.New[*Item](lw, informer.Options[*Item]{Logger: quiet, Reflector: reflector.Options{Logger: quiet}})
	if err != nil {
		b.Fatal(err)
	}
	done := NewLoopDone(l.setup.Objects)
	cache := inf.Reader()
	ctl, err := reconcile.New(reconcile.Func[reconcile.Request](func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
		obj, err := cache.Get(req)
		if err != nil {
			return reconcile.Result{}, nil // gone: nothing to do
		}
		if !l.setup.Write || obj.Phase == ReconciledPhase {
			done.Mark(obj.Name)
			return reconcile.Result{}, nil
		}
		status := *obj // the cached object is shared: write a copy
		status.Phase = ReconciledPhase
		_, err = l.store.UpdateStatus(ctx, &status)
		return reconcile.Result{}, err
	}), reconcile.Options[reconcile.Request]{Name: "loop", Workers: l.setup.Workers, SyncPeriod: reconcile.NoSync, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := reconcile.Watch(ctl, inf, reconcile.ForObject[*Item]()); err != nil {
		b.Fatal(err)
	}
	var m reconcile.Manager
	m.AddCache(inf)
	m.AddController(ctl)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- m.Run(ctx) }()
	select {
	case <-done.All():
	case err := <-stopped:
		b.Fatalf("the manager stopped before the loop settled: %v", err)
	}
	cancel()
	if err := <-stopped; err != nil {
		b.Fatal(err)
	}
	return LoopRun{Lists: lw.lists.Load(), Watches: lw.watches.Load()}
}

// countingSource counts the List and Watch calls made to a source.
type countingSource struct {
	controlloop.ListerWatcher[*Item]
	lists, watches atomic.Int64
}

func (c *countingSource) List(ctx context.Context, opts controlloop.ListOptions) (controlloop.ListResult[*Item], error) {
	if opts.Continue == "" {
		c.lists.Add(1)
	}
	return c.ListerWatcher.List(ctx, opts)
}

func (c *countingSource) Watch(ctx context.Context, opts controlloop.WatchOptions) (<-chan controlloop.Event[*Item], error) {
	c.watches.Add(1)
	return c.ListerWatcher.Watch(ctx, opts)
}
