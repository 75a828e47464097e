package reconcile

import (
	"context"
	"reflect"
	"sync"
	"time"

	"github.com/controlloop/controlloop"
)

// This file holds the stale-cache gating: read-your-own-writes (see the
// package doc, "Read your own writes").

// TrackWrites returns a Client that writes through client and, for a
// write made with the context of a reconcile, records the version the
// store returned for that reconcile's request: until every cache the
// controller reads of the client's object type, over a source of the same
// version scope, has applied that version,
// the request is not reconciled again (bounded by
// Options.StaleCacheTimeout). Writes made outside a reconcile are passed
// through and recorded nowhere, and so are deletes, whose version
// [controlloop.Client.Delete] does not return.
//
// A client whose versions are not ordered (that does not implement
// [controlloop.VersionComparer]) is returned as it is: there is nothing to
// compare. One tracking client serves any number of controllers.
func TrackWrites[T controlloop.Object](client controlloop.Client[T]) controlloop.Client[T] {
	versions, ok := client.(controlloop.VersionComparer)
	if !ok || isNilPointer(client) {
		return client
	}
	return &trackingClient[T]{Client: client, versions: versions, scope: versions.VersionScope(), kind: reflect.TypeFor[T]()}
}

// trackingClient is TrackWrites' Client: Get, List and Delete are
// client's.
type trackingClient[T controlloop.Object] struct {
	controlloop.Client[T]
	versions controlloop.VersionComparer
	scope    string       // versions' scope
	kind     reflect.Type // T
}

func (c *trackingClient[T]) Create(ctx context.Context, obj T) (T, error) {
	return c.track(ctx)(c.Client.Create(ctx, obj))
}

func (c *trackingClient[T]) Update(ctx context.Context, obj T) (T, error) {
	return c.track(ctx)(c.Client.Update(ctx, obj))
}

func (c *trackingClient[T]) UpdateStatus(ctx context.Context, obj T) (T, error) {
	return c.track(ctx)(c.Client.UpdateStatus(ctx, obj))
}

// track returns what records a write's result for the reconcile of ctx.
func (c *trackingClient[T]) track(ctx context.Context) func(T, error) (T, error) {
	return func(obj T, err error) (T, error) {
		if err == nil && !controlloop.IsNil(obj) {
			if info, ok := ctx.Value(reconcileInfoKey{}).(reconcileInfo); ok {
				info.wrote(write{versions: c.versions, scope: c.scope, kind: c.kind, version: obj.GetResourceVersion()})
			}
		}
		return obj, err
	}
}

// versionReader is a cache a controller reads, with ordered versions: an
// informer bound with Watch.
type versionReader struct {
	name     string
	versions controlloop.VersionComparer
	scope    string       // versions' scope
	kind     reflect.Type // the type of object it holds
	applied  func() (string, <-chan struct{})
}

// holds reports whether w's object belongs in r: a cache of w's type, over
// a source of w's scope. A cache of another type has nothing to show of
// w; and in a scope shared by several sources (etcd's, one per client),
// its version moves only with its own source's changes, so it would not
// reach w's version until something else changed there.
func (r *versionReader) holds(w *write) bool { return r.scope == w.scope && r.kind == w.kind }

// atLeast reports whether r has applied version v of its scope; a version
// it cannot compare counts as applied, since waiting could not help.
func (r *versionReader) atLeast(v string) bool {
	cur, _ := r.applied()
	if cur == "" {
		return false
	}
	c, err := r.versions.CompareVersions(cur, v)
	return err != nil || c >= 0
}

// write is a version a request's reconcile wrote, in its scope, of an
// object of type kind.
type write struct {
	versions controlloop.VersionComparer
	scope    string // versions' scope
	kind     reflect.Type
	version  string
}

// writes are a request's newest write in each scope it wrote to: first,
// then more (requests rarely write to two scopes), so that recording a
// write allocates nothing.
type writes struct {
	first write
	more  []write
}

// all returns an iterator over w's writes.
func (w *writes) all(yield func(*write) bool) {
	if !yield(&w.first) {
		return
	}
	for i := range w.more {
		if !yield(&w.more[i]) {
			return
		}
	}
}

// parked is a request put off until the caches catch up.
type parked struct {
	deadline time.Time
	timer    *time.Timer // re-adds the request at the deadline
}

// freshness is a controller's gating state.
type freshness[R comparable] struct {
	mu      sync.Mutex // protects the fields below
	readers []*versionReader
	// writes holds, per request, the newest version its reconciles wrote
	// in each scope, until the caches of that scope have applied it.
	writes map[R]*writes
	parked map[R]*parked
	done   outcomes[R]
	// spare keeps forgotten writes for reuse, up to maxSpareWrites: a
	// request writes and is forgotten on every reconcile.
	spare []*writes
}

const maxSpareWrites = 64

// readFrom adds a cache the controller reads: Watch calls it.
func (f *freshness[R]) readFrom(r *versionReader) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.readers = append(f.readers, r)
}

// record keeps w as req's newest write in w's scope.
func (f *freshness[R]) record(req R, w write) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.writes == nil {
		f.writes = map[R]*writes{}
	}
	ws := f.writes[req]
	if ws == nil {
		if n := len(f.spare); n > 0 {
			ws, f.spare = f.spare[n-1], f.spare[:n-1]
			*ws = writes{first: w}
		} else {
			ws = &writes{first: w}
		}
		f.writes[req] = ws
		return
	}
	for old := range ws.all {
		if old.scope == w.scope && old.kind == w.kind {
			if c, err := w.versions.CompareVersions(w.version, old.version); err == nil && c > 0 {
				old.version = w.version
			}
			return
		}
	}
	ws.more = append(ws.more, w)
}

// lockedBehind reports whether a cache of the controller has not applied
// one of req's writes yet.
func (f *freshness[R]) lockedBehind(req R) bool {
	ws := f.writes[req]
	if ws == nil {
		return false
	}
	for w := range ws.all {
		for _, r := range f.readers {
			if r.holds(w) && !r.atLeast(w.version) {
				return true
			}
		}
	}
	return false
}

// lockedForget drops req's writes and its parking.
func (f *freshness[R]) lockedForget(req R) {
	if ws := f.writes[req]; ws != nil {
		delete(f.writes, req)
		if len(f.spare) < maxSpareWrites {
			*ws = writes{}
			f.spare = append(f.spare, ws)
		}
	}
	if p, ok := f.parked[req]; ok {
		p.timer.Stop()
		delete(f.parked, req)
	}
}

// parkIfBehind decides, before a reconcile of req, whether to put it off
// because a cache the controller reads has not applied req's own earlier
// write: it reports true when req is parked (the worker skips it; it is
// added again when the caches catch up, or at the deadline), false when
// req should be reconciled now: the caches are fresh, gating is off, or
// the deadline has passed (logged and counted).
func (c *Controller[R]) parkIfBehind(req R) bool {
	if c.opts.StaleCacheTimeout == NoStaleCacheGating {
		return false
	}
	f := &c.fresh
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.writes[req] == nil {
		return false
	}
	if !f.lockedBehind(req) {
		f.lockedForget(req)
		return false
	}
	p, ok := f.parked[req]
	switch {
	case !ok:
		if f.parked == nil {
			f.parked = map[R]*parked{}
		}
		timeout := c.opts.StaleCacheTimeout
		f.parked[req] = &parked{
			deadline: time.Now().Add(timeout),
			timer:    time.AfterFunc(timeout, func() { c.queue.Add(req) }),
		}
	case !time.Now().Before(p.deadline):
		c.log.Warn("the cache has not caught up with the request's own write: reconciling anyway",
			"request", req, "timeout", c.opts.StaleCacheTimeout)
		f.lockedForget(req)
		if m, ok := c.metrics.(StaleCacheMetrics); ok {
			m.StaleSyncTimedOut()
		}
		return false
	}
	if m, ok := c.metrics.(StaleCacheMetrics); ok {
		m.StaleSyncSkipped()
	}
	return true
}

// caughtUp re-adds every parked request whose writes the caches have now
// applied. It runs after a cache advanced.
func (c *Controller[R]) caughtUp() {
	f := &c.fresh
	f.mu.Lock()
	defer f.mu.Unlock()
	for req := range f.parked {
		if !f.lockedBehind(req) {
			f.lockedForget(req)
			c.queue.Add(req)
		}
	}
}

// watchVersions follows, until ctx ends, the applied version of every
// cache the controller reads with ordered versions: it re-adds the parked
// requests that an advance lets through, and reports the version to the
// metrics. It returns a function that stops it and waits for it to stop.
func (c *Controller[R]) watchVersions(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	c.fresh.mu.Lock()
	readers := c.fresh.readers
	c.fresh.mu.Unlock()
	m, _ := c.metrics.(StaleCacheMetrics)
	var wg sync.WaitGroup
	for _, r := range readers {
		wg.Go(func() {
			for {
				v, advanced := r.applied()
				if m != nil && v != "" {
					m.StoreResourceVersion(r.name, v)
				}
				c.caughtUp()
				select {
				case <-advanced:
				case <-ctx.Done():
					return
				}
			}
		})
	}
	return func() {
		cancel()
		wg.Wait()
		c.fresh.mu.Lock()
		defer c.fresh.mu.Unlock()
		for req := range c.fresh.parked {
			c.fresh.lockedForget(req) // stops its timer
		}
	}
}

// StaleCacheMetrics records the stale-cache gating. A [ControllerMetrics]
// that also implements it receives these calls; package metrics'
// does. They are called concurrently, and must not block.
type StaleCacheMetrics interface {
	// StaleSyncSkipped: a reconcile was put off because a cache the
	// controller reads had not applied the request's own earlier write.
	StaleSyncSkipped()
	// StaleSyncTimedOut: a request was reconciled although such a cache
	// had still not caught up after Options.StaleCacheTimeout.
	StaleSyncTimedOut()
	// StoreResourceVersion: the cache called informer (its
	// informer.Options.Name) has applied the source's version.
	StoreResourceVersion(informer, version string)
}
