package informer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/deltafifo"
	"github.com/controlloop/controlloop/indexer"
	"github.com/controlloop/controlloop/reflector"
)

// Informer keeps a cache of the objects a source holds, fresh through a
// watch, and tells any number of handlers about every change. See the
// package documentation.
//
// Create one with [New]; its methods are safe for concurrent use. On a nil
// or zero Informer, Run, AddHandler and AddIndexers return an error wrapping
// [controlloop.ErrInvalid], and the reads see an empty cache that never
// syncs.
type Informer[T controlloop.Object] struct {
	idx       *indexer.Indexer[T]
	fifo      *deltafifo.FIFO[T]
	reflector *reflector.Reflector[T]
	log       *slog.Logger
	name      string        // Options.Name, or its default
	wake      chan struct{} // nudges the resync loop when handlers change

	det      *detector[T] // nil unless Options.MutationDetector
	metrics  Metrics      // nil unless Options.Metrics; set by New
	isSynced atomic.Bool
	applied  atomic.Pointer[applied]     // see AppliedVersion; set by New
	versions controlloop.VersionComparer // lw's, or nil
	stopping atomic.Bool                 // ctx of Run has ended: process applies no more

	// process's buffers, reused from batch to batch; Run's goroutine only.
	changes []change[T]
	regsBuf []*Registration[T]
	fullBuf []*Registration[T] // hand's; under apply

	// apply is held (a value sent) by process for a whole batch and by the
	// resync loop while it delivers a resync, so that the two take turns
	// (resync.go); it is taken before mu. A channel, not a mutex, so that a
	// goroutine waiting for it is durably blocked under testing/synctest.
	apply chan struct{}

	// resyncMu protects resyncRegs, the registrations with a resync period,
	// and their next resync, and asked, those whose Resync asked for one.
	// It is not mu, so that asking never waits for process.
	resyncMu   sync.Mutex
	resyncRegs []*Registration[T]
	asked      []*Registration[T]

	// mu protects the fields below. process holds it while it writes a
	// batch into the cache and buffers its notifications, but never while
	// it waits for room in a handler's buffer: a handler may call any
	// method of the informer or of a registration.
	mu        sync.Mutex
	regs      []*Registration[T]
	started   bool // Run was called
	synced    bool
	listeners sync.WaitGroup // the registrations' goroutines
}

// New returns an informer over lw. It starts nothing: call Run. It fails
// with an error wrapping [controlloop.ErrInvalid] for a nil lw (or a nil
// pointer) or invalid options, naming the field and the rule it breaks; a set
// Options.Reflector.ResyncPeriod is refused (resync periods are per handler:
// [HandlerOptions.ResyncPeriod]).
func New[T controlloop.Object](lw controlloop.ListerWatcher[T], opts Options[T]) (*Informer[T], error) {
	if isNil(lw) {
		return nil, fmt.Errorf("informer: New: nil ListerWatcher: %w", controlloop.ErrInvalid)
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	idx, err := indexer.New(indexer.Options[T]{Indexers: opts.Indexers})
	if err != nil {
		return nil, fmt.Errorf("informer: Options.Indexers: %w", err)
	}
	// The indexer is the FIFO's KnownObjects: the one cache (see process.go).
	// Replaced deltas tell a relist from a resync: see HandlerOptions.ResyncOnRelist.
	fifo, err := deltafifo.New(deltafifo.Options[T]{KnownObjects: idx, Transform: opts.Transform, EmitReplaced: true})
	if err != nil {
		return nil, err
	}
	ropts := opts.Reflector
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if ropts.Logger == nil {
		ropts.Logger = log
	}
	det, err := newDetector(opts, log)
	if err != nil {
		return nil, err
	}
	inf := &Informer[T]{idx: idx, fifo: fifo, log: log, name: opts.name(), wake: make(chan struct{}, 1), apply: make(chan struct{}, 1), det: det}
	inf.applied.Store(&applied{advanced: make(chan struct{})})
	inf.versions, _ = lw.(controlloop.VersionComparer)
	if opts.Metrics != nil {
		user := ropts.WatchErrorHandler
		ropts.WatchErrorHandler = func(err error) {
			inf.metrics.Failed(err)
			if user != nil {
				user(err)
			}
		}
	}
	inf.reflector, err = reflector.New(lw, reflector.Store[T](fifo), ropts)
	if err != nil {
		return nil, fmt.Errorf("informer: Options.Reflector: %w", err)
	}
	if opts.Metrics != nil {
		// Last, so that the provider may call Health at once.
		inf.metrics = opts.Metrics.ForInformer(inf.name, inf.Health)
	}
	return inf, nil
}

// isNil reports whether v is nil or a nil pointer, on which a call would
// panic.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

// usable reports whether i was made by New.
func (i *Informer[T]) usable() bool { return i != nil && i.idx != nil }

// AddIndexers adds indexes to the cache. It fails once the cache holds
// objects, as the indexer does: add indexes before Run.
func (i *Informer[T]) AddIndexers(indexers indexer.Indexers[T]) error {
	if !i.usable() {
		return errNotNew("AddIndexers")
	}
	return i.idx.AddIndexers(indexers)
}

// Reader returns a typed, read-only view of the cache.
func (i *Informer[T]) Reader() Reader[T] {
	if !i.usable() {
		return Reader[T]{}
	}
	return Reader[T]{idx: i.idx}
}

// Name returns the informer's name: Options.Name, or its default (the
// object type and the selector).
func (i *Informer[T]) Name() string {
	if !i.usable() {
		return ""
	}
	return i.name
}

// HasSynced reports whether the cache holds the source's first list.
func (i *Informer[T]) HasSynced() bool { return i.usable() && i.isSynced.Load() }

// LastSyncResourceVersion returns the newest resource version the informer
// has seen.
func (i *Informer[T]) LastSyncResourceVersion() string {
	if !i.usable() {
		return ""
	}
	return i.reflector.LastSyncResourceVersion()
}

// AddHandler registers h. A handler added while the informer runs first
// receives an add, marked initial, for every object in the cache. The
// returned registration tells when h has seen the initial list, and
// removes h.
//
// It fails with [ErrNilHandler] for a nil h (or a nil pointer), with an
// error wrapping [controlloop.ErrInvalid] that names the field for invalid
// opts, and with [ErrStopped] once the context of Run has ended.
func (i *Informer[T]) AddHandler(h Handler[T], opts HandlerOptions) (*Registration[T], error) {
	if !i.usable() {
		return nil, errNotNew("AddHandler")
	}
	if isNil(h) {
		return nil, ErrNilHandler
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	r := newRegistration(h, opts, i.log)
	r.remove = func() { i.removeHandler(r) }
	r.resync = func() { i.askResync(r) }
	i.mu.Lock()
	defer i.mu.Unlock()
	switch {
	case i.stopping.Load():
		return nil, ErrStopped
	case i.started:
		i.listeners.Go(r.run)
		r.enqueueInitial(slices.Collect(i.idx.List()))
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
	i.asked = slices.DeleteFunc(i.asked, func(x *Registration[T]) bool { return x == r })
	i.resyncMu.Unlock()
}

// Run lists and watches the source, keeps the cache and notifies the
// handlers until ctx ends or the reflector fails for good, then stops every
// goroutine it started and returns: nil when ctx ended, else the error that
// stopped it (the reflector's Run error, wrapped).
//
// Bound: after ctx ends, Run returns once the reflector's Run has returned
// (see [reflector.Reflector.Run]: the source's List or Watch call in
// progress must honour ctx) and once every handler has returned from the
// notification it is handling: within about one handler call. Changes not
// yet applied and notifications still buffered are dropped, and the
// informer waits for no bounded buffer. A handler that never returns keeps
// Run from returning.
//
// Run runs once. A second call, while the first runs or after it returned,
// returns at once an error wrapping [controlloop.ErrAlreadyStarted] and
// leaves the first alone.
func (i *Informer[T]) Run(ctx context.Context) error {
	if !i.usable() {
		return errNotNew("Run")
	}
	i.mu.Lock()
	if i.started {
		i.mu.Unlock()
		return fmt.Errorf("informer: Run: %w", controlloop.ErrAlreadyStarted)
	}
	i.started = true
	for _, r := range i.regs {
		i.listeners.Go(r.run)
	}
	i.mu.Unlock()

	ctx, cancel := context.WithCancel(ctx) // also ended by a failed reflector
	defer cancel()
	var wg sync.WaitGroup
	var reflectorErr error // set before wg.Done
	wg.Go(func() {
		if err := i.reflector.Run(ctx); err != nil {
			reflectorErr = fmt.Errorf("informer: reflector stopped: %w", err)
			cancel()
		}
	})
	wg.Go(func() { i.resyncLoop(ctx) })
	wg.Go(func() {
		// The FIFO is synced once process has returned for the last key
		// of the first list: the cache holds it, the handlers have it.
		select {
		case <-i.fifo.Synced():
			i.mu.Lock()
			i.lockedMarkSynced()
			i.mu.Unlock()
		case <-ctx.Done():
		}
	})
	// When ctx ends, stop processing and the handlers at once: process may
	// be waiting for room in a handler's buffer, with a batch behind.
	stopProcessing := context.AfterFunc(ctx, i.stop)
	defer stopProcessing()
	for {
		err := i.fifo.PopBatch(ctx, batchMax, i.process)
		if ctx.Err() != nil || errors.Is(err, deltafifo.ErrClosed) {
			break
		}
		if err != nil {
			i.log.Error("informer: processing a change failed", "err", err)
		}
	}
	i.stop()
	wg.Wait()
	i.listeners.Wait()
	if i.det != nil {
		i.det.checkAll()
	}
	return reflectorErr
}

// stop ends processing and the handlers' registrations: process drops
// the rest of its batch, a wait for room in a handler's buffer ends, and
// each handler's goroutine returns after the call in progress.
func (i *Informer[T]) stop() {
	i.stopping.Store(true)
	i.mu.Lock()
	defer i.mu.Unlock()
	for _, r := range i.regs {
		r.stop()
	}
}

func (i *Informer[T]) lockedMarkSynced() {
	i.synced = true
	i.isSynced.Store(true)
	for _, r := range i.regs {
		r.setSyncTarget()
	}
}
