package reconcile

import (
	"context"
	"errors"
	"sync"
)

// A Runnable runs until its context ends: informers, factories and
// controllers are Runnables.
type Runnable interface {
	Run(ctx context.Context) error
}

// Manager runs the caches and controllers of a program together, with one
// Run and an ordered shutdown: when Run's context ends, the controllers stop
// first (finishing the reconciles in flight against caches that still
// run), then the caches. The zero Manager is ready to use; add everything
// before Run.
type Manager struct {
	mu          sync.Mutex // protects the fields below
	caches      []Runnable
	controllers []Runnable
	running     bool
}

// AddCache adds an informer (or a factory of informers) to run.
func (m *Manager) AddCache(r Runnable) { m.add(&m.caches, r) }

// AddController adds a controller to run.
func (m *Manager) AddController(r Runnable) { m.add(&m.controllers, r) }

func (m *Manager) add(to *[]Runnable, r Runnable) {
	m.mu.Lock()
	defer m.mu.Unlock()
	*to = append(*to, r)
}

// Run starts every cache and controller and waits until ctx ends, or until
// one of them fails: then it stops the rest, controllers before caches, and
// returns the errors joined (nil after a clean stop). A Manager runs once at
// a time: a concurrent Run returns [ErrAlreadyRunning].
func (m *Manager) Run(ctx context.Context) error {
	m.mu.Lock()
	if m.running {
		m.mu.Unlock()
		return ErrAlreadyRunning
	}
	m.running = true
	caches, controllers := m.caches, m.controllers
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.running = false
		m.mu.Unlock()
	}()

	// Caches outlive controllers: they get their own context, ended only
	// after every controller has returned.
	cacheCtx, stopCaches := context.WithCancel(context.WithoutCancel(ctx))
	ctlCtx, stopControllers := context.WithCancel(ctx)
	defer stopControllers()

	var (
		mu   sync.Mutex
		errs []error
	)
	start := func(wg *sync.WaitGroup, ctx context.Context, r Runnable) {
		wg.Go(func() {
			if err := r.Run(ctx); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				stopControllers() // one failure stops everything
			}
		})
	}
	var cacheWG, ctlWG sync.WaitGroup
	for _, r := range caches {
		start(&cacheWG, cacheCtx, r)
	}
	for _, r := range controllers {
		start(&ctlWG, ctlCtx, r)
	}
	<-ctlCtx.Done()
	ctlWG.Wait()
	stopCaches()
	cacheWG.Wait()
	return errors.Join(errs...)
}
