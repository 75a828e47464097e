package informer

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/indexer"
)

// Factory shares informers among the controllers of a program: one informer
// per object type and selector, so that two controllers watching Pods share
// one watch and one cache. The zero Factory is ready to use; it must not be
// copied.
type Factory struct {
	mu        sync.Mutex // protects the fields below
	informers map[factoryKey]sharedInformer
	ctx       context.Context // Run's, while it runs
	wg        sync.WaitGroup  // the informers' Run calls
}

type factoryKey struct {
	typ       reflect.Type
	namespace string
	labels    string
}

type sharedInformer interface {
	Run(ctx context.Context) error
	HasSynced() bool
}

// Shared returns f's informer for T and opts.Reflector.Selector, creating it
// with lw and opts on first use. Later calls share it: their lw and options
// are not used, except that indexers it lacks are added (which fails once
// its cache holds objects). An informer created while f runs starts at once.
func Shared[T controlloop.Object](f *Factory, lw controlloop.ListerWatcher[T], opts Options[T]) (*Informer[T], error) {
	sel := opts.Reflector.Selector
	labels := make([]string, 0, len(sel.Labels))
	for _, k := range slices.Sorted(maps.Keys(sel.Labels)) {
		labels = append(labels, k+"="+sel.Labels[k])
	}
	key := factoryKey{typ: reflect.TypeFor[T](), namespace: sel.Namespace, labels: strings.Join(labels, ",")}

	f.mu.Lock()
	defer f.mu.Unlock()
	if existing, ok := f.informers[key]; ok {
		inf := existing.(*Informer[T])
		missing := indexer.Indexers[T]{}
		for name, fn := range opts.Indexers {
			if !slices.Contains(inf.idx.IndexNames(), name) {
				missing[name] = fn
			}
		}
		if len(missing) > 0 {
			if err := inf.AddIndexers(missing); err != nil {
				return nil, fmt.Errorf("informer: shared %v informer: %w", key.typ, err)
			}
		}
		return inf, nil
	}
	inf, err := New(lw, opts)
	if err != nil {
		return nil, err
	}
	if f.informers == nil {
		f.informers = make(map[factoryKey]sharedInformer)
	}
	f.informers[key] = inf
	if f.ctx != nil {
		ctx := f.ctx
		f.wg.Go(func() { _ = inf.Run(ctx) })
	}
	return inf, nil
}

// Run runs every informer of f, and those created later, until ctx ends;
// it returns once they have all stopped. Run twice at once returns
// [ErrAlreadyRunning].
func (f *Factory) Run(ctx context.Context) error {
	f.mu.Lock()
	if f.ctx != nil {
		f.mu.Unlock()
		return ErrAlreadyRunning
	}
	f.ctx = ctx
	for _, inf := range f.informers {
		f.wg.Go(func() { _ = inf.Run(ctx) })
	}
	f.mu.Unlock()

	<-ctx.Done()
	f.wg.Wait()
	f.mu.Lock()
	f.ctx = nil
	f.mu.Unlock()
	return nil
}

// HasSynced reports whether every informer of f has synced.
func (f *Factory) HasSynced() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, inf := range f.informers {
		if !inf.HasSynced() {
			return false
		}
	}
	return true
}
