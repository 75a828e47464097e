package informer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/deltafifo"
	"github.com/controlloop/controlloop/indexer"
	"github.com/controlloop/controlloop/reflector"
)

// Options configure an [Informer].
type Options[T controlloop.Object] struct {
	// Reflector configures how the source is listed and watched: selector,
	// page size, backoff, watch error handler. Its ResyncPeriod is ignored:
	// resync periods are per handler (see [HandlerOptions]). Defaults to the
	// reflector's defaults.
	Reflector reflector.Options
	// Indexers are indexes to keep besides the namespace index. More can be
	// added before Run with [Informer.AddIndexers]. Defaults to none.
	Indexers indexer.Indexers[T]
	// Transform, if set, is applied once to each object the source delivers,
	// before it is cached, for example to drop fields no handler reads. It
	// must keep the object's key, and must not modify its argument (make a
	// copy). Objects re-delivered from the cache (resyncs, inferred deletes)
	// are not transformed again. Defaults to nil.
	Transform func(T) (T, error)
	// Logger receives the informer's logs. Defaults to slog.Default().
	Logger *slog.Logger
}

// Informer keeps a cache of the objects a source holds, fresh through a
// watch, and tells any number of handlers about every change. See the
// package documentation.
//
// Create one with [New]; its methods are safe for concurrent use.
type Informer[T controlloop.Object] struct {
	idx       *indexer.Indexer[T]
	fifo      *deltafifo.FIFO[T]
	reflector *reflector.Reflector[T]
	log       *slog.Logger
	wake      chan struct{} // nudges the resync loop when handlers change

	known    *known[T] // the objects processed by stage 1 (see pipeline.go)
	pipe     *pipe[T]  // from stage 1 to stage 2
	isSynced atomic.Bool
	sized    bool // known was sized for a first list; stage 1 only

	// resyncMu protects resyncRegs, the registrations with a resync period,
	// and their next resync. It is not mu, which the applier holds while it
	// waits for a bounded handler buffer: the resync loop must not wait then.
	resyncMu   sync.Mutex
	resyncRegs []*Registration[T]

	mu        sync.Mutex // protects the fields below; held while a change is applied and distributed
	regs      []*Registration[T]
	state     runState
	synced    bool
	listeners sync.WaitGroup // the registrations' goroutines
}

type runState uint8

const (
	notStarted runState = iota
	running
	stopped
)

// New returns an informer over lw. It starts nothing: call Run.
func New[T controlloop.Object](lw controlloop.ListerWatcher[T], opts Options[T]) (*Informer[T], error) {
	if lw == nil {
		return nil, fmt.Errorf("informer: nil ListerWatcher: %w", controlloop.ErrInvalid)
	}
	idx, err := indexer.New(indexer.Options[T]{Indexers: opts.Indexers})
	if err != nil {
		return nil, err
	}
	kn := &known[T]{m: make(map[controlloop.Key]T)}
	fifo, err := deltafifo.New(deltafifo.Options[T]{KnownObjects: kn, Transform: opts.Transform})
	if err != nil {
		return nil, err
	}
	ropts := opts.Reflector
	ropts.ResyncPeriod = 0
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if ropts.Logger == nil {
		ropts.Logger = log
	}
	inf := &Informer[T]{idx: idx, fifo: fifo, log: log, wake: make(chan struct{}, 1), known: kn, pipe: newPipe[T]()}
	inf.reflector, err = reflector.New(lw, reflector.Store[T](fifo), ropts)
	if err != nil {
		return nil, err
	}
	return inf, nil
}

// AddIndexers adds indexes to the cache. It fails once the cache holds
// objects, as the indexer does: add indexes before Run.
func (i *Informer[T]) AddIndexers(indexers indexer.Indexers[T]) error {
	return i.idx.AddIndexers(indexers)
}

// Lister returns a typed, read-only view of the cache.
func (i *Informer[T]) Lister() Lister[T] { return Lister[T]{idx: i.idx} }

// HasSynced reports whether the cache holds the source's first list.
func (i *Informer[T]) HasSynced() bool { return i.isSynced.Load() }

// LastSyncResourceVersion returns the newest resource version the informer
// has seen.
func (i *Informer[T]) LastSyncResourceVersion() string { return i.reflector.LastSyncResourceVersion() }

// AddHandler registers h. A handler added while the informer runs first
// receives an add, marked initial, for every object in the cache. The
// returned registration tells when h has seen the initial list, and
// removes h.
func (i *Informer[T]) AddHandler(h Handler[T], opts HandlerOptions) (*Registration[T], error) {
	if h == nil {
		return nil, ErrNilHandler
	}
	if opts.ResyncPeriod < 0 || opts.MaxBuffer < 0 {
		return nil, fmt.Errorf("informer: %T: ResyncPeriod and MaxBuffer must not be negative", opts)
	}
	r := newRegistration(h, opts, i.log)
	r.remove = func() { i.removeHandler(r) }
	i.mu.Lock()
	defer i.mu.Unlock()
	switch i.state {
	case stopped:
		return nil, ErrStopped
	case running:
		i.listeners.Go(r.run)
		for _, obj := range i.idx.All() {
			r.enqueue(notification[T]{kind: addNotification, obj: obj, flag: true})
		}
		if i.synced {
			r.setSyncTarget()
		}
	}
	if opts.ResyncPeriod > 0 {
		i.resyncMu.Lock()
		r.nextResync = time.Now().Add(opts.ResyncPeriod)
		i.resyncRegs = append(i.resyncRegs, r)
		i.resyncMu.Unlock()
		i.nudgeResync()
	}
	i.regs = append(i.regs, r)
	return r, nil
}

func (i *Informer[T]) removeHandler(r *Registration[T]) {
	r.stop() // first, so that a distribution waiting on r's buffer ends
	i.mu.Lock()
	defer i.mu.Unlock()
	i.regs = slices.DeleteFunc(i.regs, func(x *Registration[T]) bool { return x == r })
	i.resyncMu.Lock()
	i.resyncRegs = slices.DeleteFunc(i.resyncRegs, func(x *Registration[T]) bool { return x == r })
	i.resyncMu.Unlock()
}

// Run lists and watches the source, keeps the cache and notifies the
// handlers until ctx ends, then stops every goroutine it started and
// returns. An informer runs once: a second Run returns [ErrAlreadyRunning].
func (i *Informer[T]) Run(ctx context.Context) error {
	i.mu.Lock()
	if i.state != notStarted {
		i.mu.Unlock()
		return ErrAlreadyRunning
	}
	i.state = running
	for _, r := range i.regs {
		i.listeners.Go(r.run)
	}
	i.mu.Unlock()

	var wg sync.WaitGroup
	wg.Go(func() { i.reflector.Run(ctx) })
	wg.Go(func() { i.resyncLoop(ctx) })
	wg.Go(func() {
		select {
		case <-i.fifo.Synced():
			i.pipe.push(change[T]{synced: true})
		case <-ctx.Done():
		}
	})
	wg.Go(i.apply)
	stopPipe := context.AfterFunc(ctx, i.pipe.close) // also wakes a process waiting for room
	defer stopPipe()
	for {
		err := i.fifo.Pop(ctx, i.process)
		if ctx.Err() != nil || errors.Is(err, deltafifo.ErrClosed) {
			break
		}
		if err != nil {
			i.log.Error("informer: processing a change failed", "err", err)
		}
	}
	i.pipe.close()
	wg.Wait()

	i.mu.Lock()
	i.state = stopped
	for _, r := range i.regs {
		r.stop()
	}
	i.mu.Unlock()
	i.listeners.Wait()
	return nil
}

func (i *Informer[T]) lockedMarkSynced() {
	i.synced = true
	i.isSynced.Store(true)
	for _, r := range i.regs {
		r.setSyncTarget()
	}
}

// process is stage 1 (see pipeline.go): it resolves one key's deltas
// against the objects processed before and hands the resulting changes, in
// order, to the applier.
func (i *Informer[T]) process(deltas deltafifo.Deltas[T], inInitialList bool) error {
	if !i.sized {
		// Likely a first list: size the map for the keys queued behind.
		// (Not under known's lock: the FIFO calls known holding its own.)
		i.sized = true
		if n := i.fifo.Len(); n > 1024 {
			i.known.mu.Lock()
			if len(i.known.m) == 0 {
				i.known.m = make(map[controlloop.Key]T, n+1)
			}
			i.known.mu.Unlock()
		}
	}
	for _, d := range deltas {
		k := controlloop.KeyOf(d.Object)
		var c change[T]
		i.known.mu.Lock()
		switch old, ok := i.known.m[k]; {
		case d.Type == deltafifo.Deleted:
			delete(i.known.m, k)
			c.n = notification[T]{kind: deleteNotification, obj: d.Object, flag: d.FinalStateUnknown}
		case ok:
			i.known.m[k] = d.Object
			c.n = notification[T]{kind: updateNotification, old: old, obj: d.Object}
			c.resync = old.GetResourceVersion() == d.Object.GetResourceVersion()
		default:
			i.known.m[k] = d.Object
			c.n = notification[T]{kind: addNotification, obj: d.Object, flag: inInitialList}
		}
		i.known.mu.Unlock()
		i.pipe.push(c)
	}
	return nil
}

// distribute buffers n for every handler, or, for a resync (an update that
// changed nothing), for the handlers whose resync is due.
func (i *Informer[T]) distribute(n notification[T], resync bool) {
	for _, r := range i.regs {
		if !resync || r.resyncing.Load() {
			r.enqueue(n)
		}
	}
}
