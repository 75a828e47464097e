package bench

import (
	"context"
	"log/slog"
	"math"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/reflector"
)

// Item is the object of the informer workloads: metadata and two small
// fields. bench/clientgo mirrors it as a Kubernetes object with the same
// fields and values, so that both informers are fed equivalent payloads.
type Item struct {
	controlloop.ObjectMeta
	Phase    string
	Replicas int64
}

// DeepCopy returns a copy of it, for stores that copy (memstore).
func (it *Item) DeepCopy() *Item {
	c := *it
	return &c
}

// ItemName returns the name of object i.
func ItemName(i int) string { return "object-" + strconv.Itoa(i) }

// ItemPhase returns the phase of version v of an object.
func ItemPhase(v int) string {
	if v == 0 {
		return "Pending"
	}
	return "Running"
}

// InformerSetup is what an [InformerImpl] prepares before the clock starts:
// objects i = 0..Objects-1, named ItemName(i), in namespace Namespace(i),
// listed at version 0, and modified versions v = 1..Versions of each, with
// resource version Version(i, v), phase ItemPhase(v) and Replicas i+v.
type InformerSetup struct {
	// Objects is how many objects the source lists.
	Objects int
	// Namespaces is how many namespaces the objects are spread over.
	// Defaults to 10.
	Namespaces int
	// Versions is how many modified versions of each object Modify cycles
	// through (prebuilt by static sources); 0 when nothing is modified.
	Versions int
}

// Namespace returns the namespace of object i.
func (s InformerSetup) Namespace(i int) string {
	if s.Namespaces == 0 {
		s.Namespaces = 10
	}
	return "ns-" + strconv.Itoa(i%s.Namespaces)
}

// Version returns the resource version of version v of object i:
// "1".."Objects" for the listed objects, then increasing with v.
func (s InformerSetup) Version(i, v int) string { return strconv.Itoa(s.Objects*v + i + 1) }

// ListVersion returns the version of the list: that of its last object.
func (s InformerSetup) ListVersion() string { return s.Version(s.Objects-1, 0) }

// Item returns version v of object i.
func (s InformerSetup) Item(i, v int) *Item {
	return &Item{
		ObjectMeta: controlloop.ObjectMeta{Namespace: s.Namespace(i), Name: ItemName(i), ResourceVersion: s.Version(i, v)},
		Phase:      ItemPhase(v),
		Replicas:   int64(i + v),
	}
}

// Modification returns which object and version the ith modification
// brings: objects in turn, each through versions 1..Versions, cyclically,
// so that an object never receives the version it has.
func (s InformerSetup) Modification(i int) (obj, version int) {
	return i % s.Objects, (i/s.Objects)%max(s.Versions, 1) + 1
}

// InformerImpl is an informer implementation with its source, prepared once
// per benchmark.
type InformerImpl interface {
	// Start builds a fresh informer over the source, with one handler that
	// calls c.Inc for every notification, and runs it. It returns at once.
	Start(b *testing.B, c *Counter) RunningInformer
}

// RunningInformer is a started informer, as the workloads drive it.
type RunningInformer interface {
	// HasSynced reports whether the informer and its handler have synced.
	HasSynced() bool
	// Modify makes the watch deliver the ith modification (see
	// [InformerSetup.Modification]), waiting while the watch is full.
	Modify(i int)
	// ListNamespace lists namespace ns through the informer's typed lister
	// and returns how many objects it holds.
	ListNamespace(ns string) int
	// Stop stops the informer and waits until it has returned.
	Stop()
}

// NewInformerImpl prepares an implementation for a setup.
type NewInformerImpl func(b *testing.B, setup InformerSetup) InformerImpl

// InitialSync measures an informer's initial sync of n objects: build it
// with one handler, run it, wait until the handler has received the n adds
// and has synced, stop it. One op is one sync. It reports objects/s;
// peak-MB: the largest heap in use during a sync (sampled every
// millisecond), above the heap before it, after a GC; and allocs/object and
// B/object: what the syncs allocated (runtime.MemStats over the timed part
// of the whole run), per object, with the precision that allocs/op, an
// integer, lacks.
func InitialSync(b *testing.B, newImpl NewInformerImpl, n int) {
	impl := newImpl(b, InformerSetup{Objects: n})
	b.ReportAllocs()
	var peak uint64
	var allocs allocMeter
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		runtime.GC()
		h := startHeapSampler()
		c := NewCounter()
		allocs.start()
		b.StartTimer()
		inf := impl.Start(b, c)
		c.WaitFor(b, int64(n))
		waitSynced(b, inf)
		inf.Stop()
		b.StopTimer()
		allocs.stop()
		peak = max(peak, h.stop())
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-MB")
	allocs.report(b, float64(n)*float64(b.N), "object")
}

// allocMeter sums what the heap allocated between its start and stop
// calls, from runtime.MemStats.
type allocMeter struct {
	mallocs, bytes uint64
	at             runtime.MemStats
}

func (m *allocMeter) start() { runtime.ReadMemStats(&m.at) }

func (m *allocMeter) stop() {
	mallocs, bytes := m.at.Mallocs, m.at.TotalAlloc
	runtime.ReadMemStats(&m.at)
	m.mallocs += m.at.Mallocs - mallocs
	m.bytes += m.at.TotalAlloc - bytes
}

// report reports allocs/unit and B/unit for n units.
func (m *allocMeter) report(b *testing.B, n float64, unit string) {
	b.ReportMetric(float64(m.mallocs)/n, "allocs/"+unit)
	b.ReportMetric(float64(m.bytes)/n, "B/"+unit)
}

// EventLoad is the load of [EventThroughput].
type EventLoad struct {
	// Readers is how many goroutines list a namespace each (reader r lists
	// Namespace(r)) through the lister in a loop, meanwhile.
	Readers int
	// InFlight bounds the events sent and not yet handled: 10 is the shape
	// of client-go's own BenchmarkSharedIndexInformer, where a writer waits
	// for the handler. Defaults to 4096: enough to keep an informer busy, few
	// enough that a source that never blocks (memstore) does not run so far
	// ahead that it drops the watch and the informer relists.
	InFlight int
}

// EventThroughput measures a synced informer over setup's objects turning
// b.N watch Modified events into handler notifications, under load. One op
// is one event, from the source to the handler. It reports events/s, or,
// with readers, writes/s and reads/s; and allocs/event and B/event, what
// the run allocated (readers included) from runtime.MemStats, per event.
func EventThroughput(b *testing.B, newImpl NewInformerImpl, setup InformerSetup, load EventLoad) {
	if load.InFlight == 0 {
		load.InFlight = 4096
	}
	setup.Versions = 2
	n := setup.Objects
	impl := newImpl(b, setup)
	c := NewCounter()
	inf := impl.Start(b, c)
	defer inf.Stop()
	c.WaitFor(b, int64(n))
	waitSynced(b, inf)

	var reads atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for r := range load.Readers {
		ns := setup.Namespace(r)
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if inf.ListNamespace(ns) == 0 {
					panic("bench: namespace " + ns + " listed empty")
				}
				reads.Add(1)
			}
		})
	}
	b.ReportAllocs()
	var allocs allocMeter
	allocs.start()
	b.ResetTimer()
	reads.Store(0)
	step := min(256, load.InFlight)
	for i := range b.N {
		if i%step == 0 && i >= load.InFlight {
			c.WaitFor(b, int64(n+i-load.InFlight))
		}
		inf.Modify(i)
	}
	c.WaitFor(b, int64(n+b.N))
	b.StopTimer()
	allocs.stop()
	close(stop)
	wg.Wait()
	allocs.report(b, float64(b.N), "event")
	if load.Readers == 0 {
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		return
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
	b.ReportMetric(float64(reads.Load())/b.Elapsed().Seconds(), "reads/s")
}

func waitSynced(b *testing.B, inf RunningInformer) {
	deadline := time.Now().Add(time.Minute)
	for !inf.HasSynced() {
		if time.Now().After(deadline) {
			b.Fatal("bench: informer did not sync within a minute")
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// Counter counts a handler's notifications. Its zero value is not usable:
// create one with [NewCounter]. Inc may be called concurrently with WaitFor;
// WaitFor must not be called concurrently.
type Counter struct {
	n       atomic.Int64
	target  atomic.Int64  // the count WaitFor waits for; MaxInt64 when none
	wake    chan struct{} // a token once n reaches target
	timeout *time.Timer   // WaitFor's, reused
}

// NewCounter returns a zero count.
func NewCounter() *Counter {
	c := &Counter{wake: make(chan struct{}, 1)}
	c.target.Store(math.MaxInt64)
	return c
}

// Inc counts one notification.
func (c *Counter) Inc() {
	if c.n.Add(1) >= c.target.Load() {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

// Load returns the count.
func (c *Counter) Load() int64 { return c.n.Load() }

// WaitFor blocks, without spinning, until the count is at least n; it fails
// b after a minute.
func (c *Counter) WaitFor(b *testing.B, n int64) {
	if c.n.Load() >= n {
		return
	}
	c.target.Store(n)
	defer c.target.Store(math.MaxInt64)
	if c.timeout == nil {
		c.timeout = time.NewTimer(time.Minute)
	} else {
		c.timeout.Reset(time.Minute)
	}
	defer c.timeout.Stop()
	for c.n.Load() < n {
		select {
		case <-c.wake:
		case <-c.timeout.C:
			b.Fatalf("bench: counted %d notifications in a minute, want %d", c.n.Load(), n)
		}
	}
}

// heapSampler records the largest heap in use (live and unswept objects)
// while it runs.
type heapSampler struct {
	base uint64
	peak atomic.Uint64
	done chan struct{}
	wg   sync.WaitGroup
}

const heapMetric = "/memory/classes/heap/objects:bytes"

func heapInUse() uint64 {
	var s [1]metrics.Sample
	s[0].Name = heapMetric
	metrics.Read(s[:])
	return s[0].Value.Uint64()
}

func startHeapSampler() *heapSampler {
	h := &heapSampler{base: heapInUse(), done: make(chan struct{})}
	h.wg.Go(func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			h.peak.Store(max(h.peak.Load(), heapInUse()))
			select {
			case <-h.done:
				return
			case <-t.C:
			}
		}
	})
	return h
}

// stop ends the sampling and returns the peak above the heap at the start.
func (h *heapSampler) stop() uint64 {
	close(h.done)
	h.wg.Wait()
	h.peak.Store(max(h.peak.Load(), heapInUse()))
	return h.peak.Load() - min(h.base, h.peak.Load())
}

var quiet = slog.New(slog.DiscardHandler)

// ControlloopInformer is controlloop's informer over a [StaticSource] that
// lists prebuilt [Item]s and watches prebuilt modified versions of them.
func ControlloopInformer(b *testing.B, setup InformerSetup) InformerImpl {
	items := make([]*Item, setup.Objects)
	for i := range items {
		items[i] = setup.Item(i, 0)
	}
	mods := make([]*Item, setup.Objects*setup.Versions)
	for j := range mods {
		obj, v := setup.Modification(j)
		mods[j] = setup.Item(obj, v)
	}
	return staticImpl{items: items, mods: mods, rv: setup.ListVersion()}
}

type staticImpl struct {
	items, mods []*Item
	rv          string
}

func (s staticImpl) Start(b *testing.B, c *Counter) RunningInformer {
	src := NewStaticSource(s.items, s.rv, 1024)
	r := startControlloop(b, src, c)
	r.modify = func(i int) {
		obj := s.mods[i%len(s.mods)]
		ev := controlloop.Event[*Item]{Type: controlloop.Modified, Object: obj, ResourceVersion: obj.ResourceVersion}
		if err := src.Send(context.Background(), ev); err != nil {
			panic(err)
		}
	}
	return r
}

// ControlloopMemstoreInformer is controlloop's informer over a memstore
// holding the objects, the embedded default source: lists copy every
// object out of the store, in pages of 500, and a modification is a store
// Update that reaches the informer through the store's watch.
func ControlloopMemstoreInformer(b *testing.B, setup InformerSetup) InformerImpl {
	store, err := memstore.New[*Item](memstore.Options{HistorySize: 100_000})
	if err != nil {
		b.Fatal(err)
	}
	current := make([]*Item, setup.Objects)
	for i := range current {
		obj := setup.Item(i, 0)
		obj.ResourceVersion = "" // the store versions it
		if current[i], err = store.Create(context.Background(), obj); err != nil {
			b.Fatal(err)
		}
	}
	return &memstoreImpl{store: store, setup: setup, current: current}
}

type memstoreImpl struct {
	store   *memstore.Store[*Item]
	setup   InformerSetup
	current []*Item // each object as last written; used by Modify's goroutine only
}

func (m *memstoreImpl) Start(b *testing.B, c *Counter) RunningInformer {
	r := startControlloop(b, m.store, c)
	r.modify = func(i int) {
		obj, v := m.setup.Modification(i)
		mod := *m.current[obj]
		mod.Phase, mod.Replicas = ItemPhase(v), int64(obj+v)
		updated, err := m.store.Update(context.Background(), &mod)
		if err != nil {
			panic(err)
		}
		m.current[obj] = updated
	}
	return r
}

type runningControlloop struct {
	inf    *informer.Informer[*Item]
	reg    *informer.Registration[*Item]
	modify func(i int)
	cancel context.CancelFunc
	done   chan struct{}
}

func startControlloop(b *testing.B, lw controlloop.ListerWatcher[*Item], c *Counter) *runningControlloop {
	inf, err := informer.New(lw, informer.Options[*Item]{Logger: quiet, Reflector: reflector.Options{Logger: quiet}})
	if err != nil {
		b.Fatal(err)
	}
	reg, err := inf.AddHandler(informer.HandlerFuncs[*Item]{
		AddFunc:    func(*Item, bool) { c.Inc() },
		UpdateFunc: func(_, _ *Item) { c.Inc() },
		DeleteFunc: func(*Item, bool) { c.Inc() },
	}, informer.HandlerOptions{})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &runningControlloop{inf: inf, reg: reg, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		if err := inf.Run(ctx); err != nil {
			panic(err)
		}
	}()
	return r
}

func (r *runningControlloop) HasSynced() bool { return r.inf.HasSynced() && r.reg.HasSynced() }

func (r *runningControlloop) Modify(i int) { r.modify(i) }

func (r *runningControlloop) ListNamespace(ns string) int {
	n := 0
	for range r.inf.Reader().List(controlloop.Selector{Namespace: ns}) {
		n++
	}
	return n
}

func (r *runningControlloop) Stop() {
	r.cancel()
	<-r.done
}

// StaticSource is a [controlloop.ListerWatcher] for benchmarks: List returns
// a fixed slice of objects (shared, not copied) at a fixed version, in one
// page, whatever the options; Watch streams the events given to Send. It
// does not filter by selector nor replay history: an event sent while a
// watch ends may be lost, so use it where the watch lasts as long as the
// benchmark. Its methods are safe for concurrent use.
type StaticSource[T controlloop.Object] struct {
	items  []T
	rv     string
	buffer int

	w      atomic.Pointer[staticWatch[T]] // the newest watch
	mu     sync.Mutex                     // protects opened
	opened chan struct{}                  // closed when a watch opens
}

type staticWatch[T controlloop.Object] struct {
	ch   chan controlloop.Event[T]
	done chan struct{} // closed once the watch's context ends
	send sync.RWMutex  // held shared by Send while it sends, exclusively to close ch
}

// NewStaticSource returns a source that lists items at version rv, and
// whose watch channels hold up to buffer events.
func NewStaticSource[T controlloop.Object](items []T, rv string, buffer int) *StaticSource[T] {
	return &StaticSource[T]{items: items, rv: rv, buffer: buffer, opened: make(chan struct{})}
}

// List returns the items at the source's version.
func (s *StaticSource[T]) List(ctx context.Context, _ controlloop.ListOptions) (controlloop.ListResult[T], error) {
	if err := ctx.Err(); err != nil {
		return controlloop.ListResult[T]{}, err
	}
	return controlloop.ListResult[T]{Items: s.items, ResourceVersion: s.rv}, nil
}

// Watch opens a watch that streams what Send is given from now on, until
// ctx ends; its version is ignored.
func (s *StaticSource[T]) Watch(ctx context.Context, _ controlloop.WatchOptions) (<-chan controlloop.Event[T], error) {
	w := &staticWatch[T]{ch: make(chan controlloop.Event[T], s.buffer), done: make(chan struct{})}
	context.AfterFunc(ctx, func() {
		close(w.done)
		w.send.Lock()
		close(w.ch)
		w.send.Unlock()
	})
	s.mu.Lock()
	s.w.Store(w)
	close(s.opened)
	s.opened = make(chan struct{})
	s.mu.Unlock()
	return w.ch, nil
}

// Send hands ev to the current watch, waiting for one to be open and for
// room in its channel, or until ctx ends.
func (s *StaticSource[T]) Send(ctx context.Context, ev controlloop.Event[T]) error {
	for {
		if w := s.w.Load(); w != nil && w.trySend(ctx, ev) {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		s.mu.Lock()
		w, opened := s.w.Load(), s.opened
		s.mu.Unlock()
		if w != nil && !w.ended() {
			continue // a new watch opened meanwhile
		}
		select {
		case <-opened:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (w *staticWatch[T]) ended() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

// trySend sends ev unless the watch ends (or ctx does) first.
func (w *staticWatch[T]) trySend(ctx context.Context, ev controlloop.Event[T]) bool {
	w.send.RLock()
	defer w.send.RUnlock()
	if w.ended() {
		return false
	}
	select {
	case w.ch <- ev:
		return true
	case <-w.done:
	case <-ctx.Done():
	}
	return false
}
