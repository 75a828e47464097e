package reconcile

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/controlloop/controlloop/informer"
)

// BindingStatus is the startup state of one [Watch] binding: its
// informer's cache sync (which Run waits for within
// Options.CacheSyncTimeout), and the delivery of the initial list to the
// binding's handler (which Run then waits for within
// Options.HandlerSyncTimeout) before it starts the workers.
type BindingStatus struct {
	Informer    string // the informer's name
	CacheSynced bool   // the informer's cache holds its first list
	// Delivered of Total initial-list notifications have reached the
	// binding; Total is known once the informer has listed (TotalKnown).
	Delivered, Total uint64
	TotalKnown       bool
	// Pending is how many notifications wait in the binding's buffer.
	Pending int
}

// Synced reports whether the binding has been delivered its initial list.
func (s BindingStatus) Synced() bool { return s.TotalKnown && s.Delivered >= s.Total }

// bindingProbe is one Watch binding as its controller sees it: its status
// sources, and how to resync it.
type bindingProbe struct {
	binding     any // the informer handler, to tell the bindings apart
	informer    string
	cacheSynced func() bool
	progress    func() (delivered, total uint64, known bool)
	pending     func() int
	resync      func()
}

func (p bindingProbe) status() BindingStatus {
	d, t, known := p.progress()
	return BindingStatus{Informer: p.informer, CacheSynced: p.cacheSynced(), Delivered: d, Total: t, TotalKnown: known, Pending: p.pending()}
}

func (c *Controller[R]) addBindingProbe(p bindingProbe) {
	c.mu.Lock()
	c.probes = append(c.probes, p)
	c.mu.Unlock()
}

// Bindings returns the startup state of each of the controller's [Watch]
// bindings, in the order they were made.
func (c *Controller[R]) Bindings() []BindingStatus {
	c.mu.Lock()
	probes := c.probes
	c.mu.Unlock()
	out := make([]BindingStatus, len(probes))
	for i, p := range probes {
		out[i] = p.status()
	}
	return out
}

// waitForHandlers waits, within Options.HandlerSyncTimeout, until every
// binding has been delivered its initial list.
func (c *Controller[R]) waitForHandlers(ctx context.Context) error {
	c.mu.Lock()
	probes := c.probes
	c.mu.Unlock()
	synced := make([]func() bool, len(probes))
	for i, p := range probes {
		synced[i] = func() bool { return p.status().Synced() }
	}
	return c.waitFor(ctx, synced, c.opts.HandlerSyncTimeout, ErrHandlerSyncTimeout)
}

// waitFor waits until every one of synced reports true, within timeout;
// on timeout (and not because ctx ended) it returns sentinel, with each
// binding's progress.
func (c *Controller[R]) waitFor(ctx context.Context, synced []func() bool, timeout time.Duration, sentinel error) error {
	syncCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := informer.WaitForCacheSync(syncCtx, synced...); err != nil && ctx.Err() == nil {
		return fmt.Errorf("%w (controller %s, after %v%s)", sentinel, c.opts.Name, timeout, progressText(c.Bindings()))
	}
	return nil // synced, or Run's ctx ended: a clean stop
}

// progressText spells the bindings' startup state for an error message.
func progressText(bindings []BindingStatus) string {
	var b strings.Builder
	for _, s := range bindings {
		switch {
		case !s.CacheSynced:
			fmt.Fprintf(&b, "; %s: cache not synced", s.Informer)
		case !s.Synced():
			fmt.Fprintf(&b, "; %s: delivered %d of %d", s.Informer, s.Delivered, s.Total)
		}
	}
	return b.String()
}
