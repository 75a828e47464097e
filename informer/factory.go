package informer

import (
	"context"
	"errors"
	"fmt"
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
	informers map[factoryKey]factoryEntry
	state     runState
	ctx       context.Context // Run's, while it runs; cancelled by the first informer that fails
	cancel    context.CancelFunc
	errs      []error        // the informers' Run errors
	wg        sync.WaitGroup // the informers' Run calls
}

// runState is where a Factory is in its life.
type runState uint8

const (
	notStarted runState = iota
	running
	stopped
)

type factoryKey struct {
	typ       reflect.Type
	namespace string
	labels    string
}

// factoryEntry is one shared informer and the source it was created with.
type factoryEntry struct {
	inf    sharedInformer
	source any // the ListerWatcher given to the Shared call that created inf
}

type sharedInformer interface {
	Run(ctx context.Context) error
	HasSynced() bool
	Ready() error
}

// Shared returns f's informer for T and opts.Reflector.Selector, creating it
// with lw and opts on first use. An informer created while f runs starts at
// once.
//
// Later calls for the same T and selector share the informer: their options
// are not used, except that indexers it lacks are added (which fails once
// its cache holds objects). They must pass the same source: a lw that is not
// == to the first call's (or whose value is not comparable, such as a struct
// holding a func: pass a pointer) is refused with an error wrapping
// [controlloop.ErrInvalid] that names the type, since the informer would
// never see that source's objects.
//
// Shared validates opts as [New] does, and fails with an error wrapping
// ErrInvalid for a nil f, and with one wrapping [ErrStopped] once f's Run has
// returned or is returning: an informer handed out then would never run.
func Shared[T controlloop.Object](f *Factory, lw controlloop.ListerWatcher[T], opts Options[T]) (*Informer[T], error) {
	typ := reflect.TypeFor[T]()
	if f == nil {
		return nil, fmt.Errorf("informer: Shared %v: nil Factory: %w", typ, controlloop.ErrInvalid)
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	sel := opts.Reflector.Selector
	key := factoryKey{typ: typ, namespace: sel.Namespace, labels: labelString(sel.Labels)}

	f.mu.Lock()
	defer f.mu.Unlock()
	if f.state == stopped || f.state == running && f.ctx.Err() != nil {
		return nil, fmt.Errorf("informer: Shared %v: the factory's Run has returned: %w", typ, ErrStopped)
	}
	if e, ok := f.informers[key]; ok {
		if !sameSource(e.source, lw) {
			return nil, fmt.Errorf("informer: Shared %v: %w: the factory shares an informer for this type and selector over another ListerWatcher (%T); it would never see this one's (%T) objects", typ, controlloop.ErrInvalid, e.source, lw)
		}
		inf := e.inf.(*Informer[T])
		missing := indexer.Indexers[T]{}
		for name, fn := range opts.Indexers {
			if !slices.Contains(inf.idx.IndexNames(), name) {
				missing[name] = fn
			}
		}
		if len(missing) > 0 {
			if err := inf.AddIndexers(missing); err != nil {
				return nil, fmt.Errorf("informer: Shared %v: %w", typ, err)
			}
		}
		return inf, nil
	}
	inf, err := New(lw, opts)
	if err != nil {
		return nil, err
	}
	if f.informers == nil {
		f.informers = make(map[factoryKey]factoryEntry)
	}
	f.informers[key] = factoryEntry{inf: inf, source: lw}
	if f.state == running {
		f.lockedStart(inf)
	}
	return inf, nil
}

// sameSource reports whether a and b are the same source: equal with ==,
// and both comparable (== on others would panic).
func sameSource(a, b any) bool {
	return reflect.ValueOf(a).Comparable() && reflect.ValueOf(b).Comparable() && a == b
}

// Run runs every informer of f, and those created while it runs, until ctx
// ends or one of them fails; then it stops them all and returns once they
// have all returned: nil if ctx ended and none failed, else every error
// they returned, joined with [errors.Join].
//
// Bound: after ctx ends, Run returns once every informer's Run has returned
// (see [Informer.Run]'s bound). Run runs once: a second call, while the
// first runs or after it returned, returns at once an error wrapping
// [controlloop.ErrAlreadyStarted]; once Run returns, [Shared] refuses to
// create or hand out informers.
func (f *Factory) Run(ctx context.Context) error {
	if f == nil {
		return fmt.Errorf("informer: Factory.Run: nil Factory: %w", controlloop.ErrInvalid)
	}
	f.mu.Lock()
	if f.state != notStarted {
		f.mu.Unlock()
		return fmt.Errorf("informer: Factory.Run: %w", controlloop.ErrAlreadyStarted)
	}
	f.state = running
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	f.ctx, f.cancel = ctx, cancel
	for _, e := range f.informers {
		f.lockedStart(e.inf)
	}
	f.mu.Unlock()

	<-ctx.Done()
	f.mu.Lock()
	f.state = stopped // no informer starts after this: wg.Wait below sees every one
	f.mu.Unlock()
	f.wg.Wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	return errors.Join(f.errs...)
}

// lockedStart runs inf under f's Run context, recording its error; an error
// stops the whole factory.
func (f *Factory) lockedStart(inf sharedInformer) {
	ctx, cancel := f.ctx, f.cancel
	f.wg.Go(func() {
		if err := inf.Run(ctx); err != nil {
			f.mu.Lock()
			f.errs = append(f.errs, err)
			f.mu.Unlock()
			cancel()
		}
	})
}

// Informers returns the informers f has handed out, ordered by name: each
// is an *[Informer] of some type, seen through the methods every informer
// has whatever its type (assert to a wider set, such as Name and
// Versions, to read more). For code that inspects a program's caches,
// such as a test waiting until each has caught up with its source. A nil
// Factory has none.
func (f *Factory) Informers() []VersionedCache {
	if f == nil {
		return nil
	}
	type named interface {
		VersionedCache
		Name() string
	}
	f.mu.Lock()
	infs := make([]named, 0, len(f.informers))
	for _, e := range f.informers {
		if inf, ok := e.inf.(named); ok { // every *Informer is
			infs = append(infs, inf)
		}
	}
	f.mu.Unlock()
	slices.SortFunc(infs, func(a, b named) int { return strings.Compare(a.Name(), b.Name()) })
	out := make([]VersionedCache, len(infs))
	for i, inf := range infs {
		out[i] = inf
	}
	return out
}

// HasSynced reports whether every informer of f has synced (true for a
// Factory with none; false for a nil Factory).
func (f *Factory) HasSynced() bool {
	if f == nil {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range f.informers {
		if !e.inf.HasSynced() {
			return false
		}
	}
	return true
}

// Ready returns nil once every informer of f is ready (see
// [Informer.Ready]; nil for a Factory with none), and otherwise the errors
// of those that are not, joined with [errors.Join]. It is safe to call at
// any time, from any goroutine; on a nil Factory it returns an error
// wrapping [controlloop.ErrInvalid].
func (f *Factory) Ready() error {
	if f == nil {
		return fmt.Errorf("informer: Factory.Ready: nil Factory: %w", controlloop.ErrInvalid)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var errs []error
	for _, e := range f.informers {
		errs = append(errs, e.inf.Ready())
	}
	return errors.Join(errs...)
}
