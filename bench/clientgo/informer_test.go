package clientgo

import (
	"context"
	"flag"
	"strconv"
	"testing"

	"github.com/controlloop/controlloop/internal/bench"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

// The informer comparison: bench's informer workloads run on controlloop's
// informer (over a static source, and over memstore, the embedded default)
// and on client-go's SharedIndexInformer fed the same objects through a
// ListWatch whose List returns a prebuilt list and whose watch is a
// FakeWatcher fed prebuilt modified versions.

var informerImpls = []struct {
	name string
	new  bench.NewInformerImpl
}{
	{"controlloop", bench.ControlloopInformer},
	{"clientgo", clientgoInformer},
	{"controlloop-memstore", bench.ControlloopMemstoreInformer},
}

func eachInformer(b *testing.B, run func(b *testing.B, newImpl bench.NewInformerImpl)) {
	for _, impl := range informerImpls {
		b.Run("impl="+impl.name, func(b *testing.B) { run(b, impl.new) })
	}
}

// huge enables the cases of a million objects, which take minutes and
// gigabytes: go test -bench 'InitialSync1M|BytesPerObject' -huge.
var huge = flag.Bool("huge", false, "run the benchmarks' cases of 1M objects")

// skipHuge skips b for n objects of 1M or more unless -huge is set.
func skipHuge(b *testing.B, n int) {
	if n >= 1_000_000 && !*huge {
		b.Skip("1M objects: run with -huge")
	}
}

// BenchmarkInformerInitialSync100k lists 100k objects into a new informer
// and waits until its handler has received them all.
func BenchmarkInformerInitialSync100k(b *testing.B) {
	eachInformer(b, func(b *testing.B, newImpl bench.NewInformerImpl) { bench.InitialSync(b, newImpl, 100_000) })
}

// BenchmarkInformerInitialSync1M is BenchmarkInformerInitialSync100k for
// 1M objects; it runs only with -huge.
func BenchmarkInformerInitialSync1M(b *testing.B) {
	skipHuge(b, 1_000_000)
	eachInformer(b, func(b *testing.B, newImpl bench.NewInformerImpl) { bench.InitialSync(b, newImpl, 1_000_000) })
}

// BenchmarkInformerEventThroughput streams Modified events through a synced
// informer over 10k objects to its handler.
func BenchmarkInformerEventThroughput(b *testing.B) {
	eachInformer(b, func(b *testing.B, newImpl bench.NewInformerImpl) {
		bench.EventThroughput(b, newImpl, bench.InformerSetup{Objects: 10_000}, bench.EventLoad{})
	})
}

// BenchmarkInformerWritesWith10Readers measures the writes/s an informer
// over 10k objects applies (source to cache to handler) while 10 goroutines
// list a namespace each in a loop through its lister, with at most 10
// events in flight, as client-go's own BenchmarkSharedIndexInformer does.
// With ns=10 each reader lists its own namespace of 1000 objects; with ns=1
// every reader lists all 10k, the shape where client-go's writes collapse.
func BenchmarkInformerWritesWith10Readers(b *testing.B) {
	for _, ns := range []int{10, 1} {
		b.Run("ns="+strconv.Itoa(ns), func(b *testing.B) {
			eachInformer(b, func(b *testing.B, newImpl bench.NewInformerImpl) {
				bench.EventThroughput(b, newImpl, bench.InformerSetup{Objects: 10_000, Namespaces: ns}, bench.EventLoad{Readers: 10, InFlight: 10})
			})
		})
	}
}

// cgItem is bench.Item as a Kubernetes object: the same fields and values.
type cgItem struct {
	metav1.TypeMeta
	metav1.ObjectMeta
	Phase    string
	Replicas int64
}

func (o *cgItem) DeepCopyObject() runtime.Object {
	c := *o
	o.ObjectMeta.DeepCopyInto(&c.ObjectMeta)
	return &c
}

type cgItemList struct {
	metav1.TypeMeta
	metav1.ListMeta
	Items []cgItem
}

func (l *cgItemList) DeepCopyObject() runtime.Object {
	c := *l
	c.Items = make([]cgItem, len(l.Items))
	for i := range l.Items {
		c.Items[i] = *l.Items[i].DeepCopyObject().(*cgItem)
	}
	return &c
}

func newCGItem(setup bench.InformerSetup, i, v int) cgItem {
	return cgItem{
		ObjectMeta: metav1.ObjectMeta{Namespace: setup.Namespace(i), Name: bench.ItemName(i), ResourceVersion: setup.Version(i, v)},
		Phase:      bench.ItemPhase(v),
		Replicas:   int64(i + v),
	}
}

// noWatchList tells client-go's reflector that the source cannot stream
// its initial list as watch events, so that it lists and then watches, as
// controlloop's reflector does.
type noWatchList struct{}

func (noWatchList) IsWatchListSemanticsUnSupported() bool { return true }

func clientgoInformer(b *testing.B, setup bench.InformerSetup) bench.InformerImpl {
	items := make([]cgItem, setup.Objects)
	for i := range items {
		items[i] = newCGItem(setup, i, 0)
	}
	mods := make([]*cgItem, setup.Objects*setup.Versions)
	for j := range mods {
		obj, v := setup.Modification(j)
		m := newCGItem(setup, obj, v)
		mods[j] = &m
	}
	return clientgoImpl{items: items, mods: mods, rv: setup.ListVersion()}
}

type clientgoImpl struct {
	items []cgItem
	mods  []*cgItem
	rv    string
}

func (c clientgoImpl) Start(b *testing.B, counter *bench.Counter) bench.RunningInformer {
	w := watch.NewFakeWithChanSize(1024, false)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(context.Context, metav1.ListOptions) (runtime.Object, error) {
			return &cgItemList{ListMeta: metav1.ListMeta{ResourceVersion: c.rv}, Items: c.items}, nil
		},
		WatchFuncWithContext: func(context.Context, metav1.ListOptions) (watch.Interface, error) { return w, nil },
	}
	inf := cache.NewSharedIndexInformerWithOptions(cache.ToListWatcherWithWatchListSemantics(lw, noWatchList{}), &cgItem{},
		cache.SharedIndexInformerOptions{Indexers: cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}})
	reg, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { counter.Inc() },
		UpdateFunc: func(_, _ any) { counter.Inc() },
		DeleteFunc: func(any) { counter.Inc() },
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &runningClientgo{
		inf: inf, reg: reg, watcher: w, mods: c.mods, cancel: cancel, done: make(chan struct{}),
		lister: cache.NewGenericLister(inf.GetIndexer(), schema.GroupResource{Resource: "items"}),
	}
	go func() {
		defer close(r.done)
		inf.RunWithContext(ctx)
	}()
	return r
}

type runningClientgo struct {
	inf     cache.SharedIndexInformer
	reg     cache.ResourceEventHandlerRegistration
	lister  cache.GenericLister
	watcher *watch.FakeWatcher
	mods    []*cgItem
	cancel  context.CancelFunc
	done    chan struct{}
}

func (r *runningClientgo) HasSynced() bool { return r.inf.HasSynced() && r.reg.HasSynced() }

func (r *runningClientgo) Modify(i int) { r.watcher.Modify(r.mods[i%len(r.mods)]) }

func (r *runningClientgo) ListNamespace(ns string) int {
	objs, err := r.lister.ByNamespace(ns).List(labels.Everything())
	if err != nil {
		panic(err)
	}
	return len(objs)
}

func (r *runningClientgo) Stop() {
	r.cancel()
	<-r.done
}
