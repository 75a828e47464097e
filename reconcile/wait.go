package reconcile

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/informer"
)

// This file holds WaitUntilReconciled (see the package doc, "Waiting
// until reconciled").

// outcomes is what a controller keeps for its waiters: per request, the
// newest cache version a finished reconcile read. It lives in freshness,
// under its lock. It remembers up to limit requests (maxOutcomes unless a
// test sets it): past that, it forgets a quarter of those nobody waits
// for, so that a controller whose requests come and go (objects created
// and deleted) does not grow without bound.
type outcomes[R comparable] struct {
	keys  map[R]*keyOutcome
	limit int
}

// maxOutcomes is how many requests' outcomes a controller remembers.
const maxOutcomes = 1 << 16

// lockedGet returns req's outcomes, making them if need be.
func (o *outcomes[R]) lockedGet(req R) *keyOutcome {
	if o.keys == nil {
		o.keys = map[R]*keyOutcome{}
	}
	k := o.keys[req]
	if k == nil {
		o.lockedMakeRoom()
		k = &keyOutcome{}
		o.keys[req] = k
	}
	return k
}

// lockedMakeRoom forgets, when limit requests are remembered, a quarter of
// them (in no particular order), never one that a waiter waits for.
func (o *outcomes[R]) lockedMakeRoom() {
	limit := cmp.Or(o.limit, maxOutcomes)
	if len(o.keys) < limit {
		return
	}
	n := max(1, limit/4)
	for req, k := range o.keys {
		if k.waiters == 0 {
			delete(o.keys, req)
			if n--; n == 0 {
				return
			}
		}
	}
}

// keyOutcome is one request's newest outcomes. changed, made by a waiter,
// is closed and cleared when a reconcile of the request finishes, so that
// a reconcile nobody waits for allocates nothing.
type keyOutcome struct {
	succeeded string // the cache version of the newest successful reconcile; "" none
	failed    string // the cache version of the newest failed one; "" none
	err       error  // its error
	terminal  bool   // err is terminal: it will not be retried
	changed   chan struct{}
	waiters   int // WaitUntilReconciled calls waiting on changed
}

// lockedPrimary returns the first cache the controller reads with ordered
// versions, whose versions WaitUntilReconciled compares, or nil.
func (f *freshness[R]) lockedPrimary() *versionReader {
	if len(f.readers) == 0 {
		return nil
	}
	return f.readers[0]
}

// readVersion returns the version the primary cache has applied: a
// reconcile that starts now reads that version or a newer one.
func (c *Controller[R]) readVersion() string {
	c.fresh.mu.Lock()
	p := c.fresh.lockedPrimary()
	c.fresh.mu.Unlock()
	if p == nil {
		return ""
	}
	v, _ := p.applied()
	return v
}

// reconciled records that a reconcile of req that read the primary cache
// at read (or newer) finished with err, and wakes req's waiters.
func (c *Controller[R]) reconciled(req R, read string, err error) {
	if read == "" {
		return // no ordered cache: nobody can wait
	}
	f := &c.fresh
	f.mu.Lock()
	defer f.mu.Unlock()
	k := f.done.lockedGet(req)
	if err == nil {
		k.succeeded = read
	} else {
		k.failed, k.err, k.terminal = read, err, errors.Is(err, ErrTerminal)
	}
	if k.changed != nil {
		close(k.changed)
		k.changed = nil
	}
}

// WaitUntilReconciled waits until a reconcile of req that read the cache
// at version or newer has succeeded (returned a nil error, with or
// without RequeueAfter), and returns nil; it returns at once if one
// already has. (A controller remembers the outcomes of up to 65,536
// requests besides those waited for; past that it forgets some, and a
// wait for a forgotten request returns at its next successful reconcile.) version is a version of the controller's primary cache:
// the first informer with ordered versions bound to it with [Watch] (by
// convention the one mapped with [ForObject]); a reconcile read the cache
// at the version that cache had applied when the reconcile began.
//
// It returns the reconcile's error instead when a reconcile that read
// version or newer failed with a [TerminalError], which is never retried,
// and no later one succeeded. When ctx ends first, it returns ctx's error,
// joined with the error of the newest reconcile that read version or newer
// and failed, if there was one (errors.Is finds both): so a caller whose
// reconciles keep failing learns why.
//
// It fails at once with an error wrapping [controlloop.ErrInvalid] when
// the controller reads no cache with ordered versions, or when version is
// not one of the primary cache's versions. It is safe to call from any
// goroutine, before or during Run; it does not return because Run did.
func (c *Controller[R]) WaitUntilReconciled(ctx context.Context, req R, version string) error {
	f := &c.fresh
	f.mu.Lock()
	p := f.lockedPrimary()
	f.mu.Unlock()
	if p == nil {
		return fmt.Errorf("reconcile: WaitUntilReconciled: controller %s reads no cache with ordered versions: %w", c.opts.Name, controlloop.ErrInvalid)
	}
	if _, err := p.versions.CompareVersions(version, version); err != nil {
		return fmt.Errorf("reconcile: WaitUntilReconciled: version %q: %w", version, err)
	}
	atLeast := func(read string) bool {
		if read == "" {
			return false
		}
		c, err := p.versions.CompareVersions(read, version)
		return err == nil && c >= 0
	}
	for {
		f.mu.Lock()
		k := f.done.lockedGet(req)
		succeeded, failed, err, terminal := k.succeeded, k.failed, k.err, k.terminal
		switch {
		case atLeast(succeeded):
			f.mu.Unlock()
			return nil
		case terminal && atLeast(failed):
			f.mu.Unlock()
			return err
		}
		if k.changed == nil {
			k.changed = make(chan struct{})
		}
		changed := k.changed
		k.waiters++ // k is not forgotten while it is waited for
		f.mu.Unlock()

		ended := false
		select {
		case <-changed:
		case <-ctx.Done():
			ended = true
		}
		f.mu.Lock()
		k.waiters--
		failed, err = k.failed, k.err
		f.mu.Unlock()
		if ended {
			if atLeast(failed) {
				return errors.Join(ctx.Err(), err)
			}
			return ctx.Err()
		}
	}
}

// WaitUntilAllReconciled waits until every object in inf's cache whose
// version is at or below version has been reconciled by c in that state:
// first until inf has applied version, then, for each such object, as
// [Controller.WaitUntilReconciled] at the object's own version, keyed by
// the object's key (so c's requests must be the objects' keys, as
// [ForObject] maps them): the objects the cache holds once it has applied
// version. inf must be c's primary cache. It returns nil, or the first error a
// wait returned.
func WaitUntilAllReconciled[T controlloop.Object](ctx context.Context, c *Controller[Request], inf *informer.Informer[T], version string) error {
	versions := inf.Versions()
	if versions == nil {
		return fmt.Errorf("reconcile: WaitUntilAllReconciled: the informer's versions are not ordered: %w", controlloop.ErrInvalid)
	}
	if _, err := versions.CompareVersions(version, version); err != nil {
		return fmt.Errorf("reconcile: WaitUntilAllReconciled: version %q: %w", version, err)
	}
	for {
		applied, advanced := inf.AppliedVersion()
		if applied != "" {
			if n, err := versions.CompareVersions(applied, version); err == nil && n >= 0 {
				break
			}
		}
		select {
		case <-advanced:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for key, obj := range inf.Reader().All() {
		if n, err := versions.CompareVersions(obj.GetResourceVersion(), version); err != nil || n > 0 {
			continue
		}
		if err := c.WaitUntilReconciled(ctx, key, obj.GetResourceVersion()); err != nil {
			return err
		}
	}
	return nil
}
