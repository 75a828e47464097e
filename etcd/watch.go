package etcd

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/controlloop/controlloop"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/metadata"
)

// watchBuffer is the capacity of a watch's channel.
const watchBuffer = 64

// Watch streams the changes opts selects, starting strictly after
// opts.ResourceVersion (from the current revision if it is empty), in
// revision order: an etcd watch from that revision + 1 with previous values.
//
// A revision etcd has compacted yields an Error event wrapping
// [controlloop.ErrExpired], then the channel closes: list again. The etcd
// client re-creates a watch broken by a lost connection by itself, from
// the last revision it delivered, so a short reconnect is invisible here.
// A watch that has heard nothing from etcd for Options.UnavailableAfter
// reads one key of its range, bounded by the same time; if that fails
// too, it ends with an Error event wrapping [ErrUnavailable]. So does a
// watch whose member lost its leader. When the client gives up (ctx done,
// client closed) the channel closes, after an Error event if etcd said why.
//
// With opts.AllowBookmarks, the watch asks etcd for progress notifications
// and turns each into a Bookmark event carrying the revision up to which
// every change has been delivered, changes the label selector filtered out
// included. etcd sends them every --watch-progress-notify-interval (10
// minutes by default), and on [Source.RequestProgress]. Only where etcd
// sends them in order with the events, which Watch checks first (see the
// package documentation's "Bookmarks and server versions"); elsewhere a
// watch has no bookmarks.
//
// Under a label selector, a change that brings an object into the selector
// is reported as Added and one that takes it out as Deleted (carrying the
// state before the change, stamped with the change's revision), as an API
// server does: the previous value etcd sends makes this exact. Labels are
// matched here, on the client: etcd sends every change in the namespace.
//
// A value that cannot be decoded, or whose key is malformed, is skipped and
// reported as List reports it (a log line at Warn, Options.OnDecodeError);
// the watch goes on. Such a value counts as absent: a change that makes an
// object undecodable is reported as its deletion (carrying its last
// decodable state), one that repairs it as its addition.
//
// Each watch runs a goroutine (and another until etcd has created the
// watch); they end, and the channel closes, once ctx is done: cancel ctx
// when you stop reading. Watch itself waits for etcd about twice
// Options.UnavailableAfter at most (for its version check, and for the current
// revision if opts.ResourceVersion is empty: an error wrapping
// [ErrUnavailable] if etcd does not answer). A Watch call makes one Status
// request to each of the client's endpoints, besides the watch.
func (s *Source[T]) Watch(ctx context.Context, opts controlloop.WatchOptions) (<-chan controlloop.Event[T], error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkSelector(opts.Selector); err != nil {
		return nil, fmt.Errorf("etcd: watch: %w", err)
	}
	start, end := s.rangeFor(opts.Namespace)
	var from int64
	if opts.ResourceVersion != "" {
		rev, err := parseRev(opts.ResourceVersion)
		if err != nil {
			return nil, fmt.Errorf("etcd: watch: %w", err)
		}
		from = rev + 1
	} else {
		// "From now" is made explicit, so that a watch the client re-creates
		// never replays changes made before this call.
		gctx, cancel := context.WithTimeout(ctx, s.unavailableAfter)
		resp, err := s.client.Get(gctx, start, clientv3.WithCountOnly())
		cancel()
		if err != nil {
			if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
				err = fmt.Errorf("%w: no answer for %v: %w", ErrUnavailable, s.unavailableAfter, err)
			}
			return nil, fmt.Errorf("etcd: watch: read current revision: %w", mapErr(err))
		}
		from = resp.Header.Revision + 1
	}
	ordered := s.progressInOrder(ctx) == nil
	ops := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithRev(from), clientv3.WithPrevKV()}
	if opts.AllowBookmarks && ordered {
		ops = append(ops, clientv3.WithProgressNotify())
	}
	wctx, cancel := context.WithCancel(s.streamContext(ctx))
	w := &watch[T]{
		src:       s,
		opts:      opts,
		matchAll:  len(opts.Labels) == 0,
		ordered:   ordered,
		probeKey:  start,
		out:       make(chan controlloop.Event[T], watchBuffer),
		delivered: from - 1,
	}
	// The client's Watch returns only once etcd has created the watch, so
	// it runs on a goroutine of its own: the probe then covers an etcd lost
	// before that too.
	created := make(chan clientv3.WatchChan, 1)
	var creating sync.WaitGroup
	creating.Go(func() { created <- s.client.Watch(wctx, start, ops...) })
	go func() {
		defer close(w.out)
		defer creating.Wait()
		defer cancel()
		w.run(wctx, created)
	}()
	return w.out, nil
}

// RequestProgress asks etcd to send a progress notification to every watch
// of this source: each that allows bookmarks receives a Bookmark event
// once it has caught up (etcd answers only once all the source's watches
// are in sync). It fails with an error wrapping [errors.ErrUnsupported]
// where etcd would send the notification ahead of undelivered events (see
// the package documentation's "Bookmarks and server versions").
func (s *Source[T]) RequestProgress(ctx context.Context) error {
	if err := s.usable(); err != nil {
		return err
	}
	if err := s.progressInOrder(ctx); err != nil {
		return fmt.Errorf("etcd: request progress: %w", err)
	}
	return s.requestProgress(ctx)
}

// requestProgress sends a progress request on the source's watch stream.
func (s *Source[T]) requestProgress(ctx context.Context) error {
	if err := s.client.RequestProgress(s.streamContext(ctx)); err != nil {
		return fmt.Errorf("etcd: request progress: %w", mapErr(err))
	}
	return nil
}

// streamKey is the gRPC metadata key that puts a source's watches on a
// stream of their own.
const streamKey = "controlloop-watch-stream"

// streamContext is the context of every watch of s: watchContext's, with
// s's stream metadata. The etcd client shares one gRPC stream among
// watches whose contexts carry the same metadata, and a progress request
// reaches every watch on its stream; so the source's watches share a
// stream only with each other, and RequestProgress reaches exactly them.
func (s *Source[T]) streamContext(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(watchContext(ctx), streamKey, s.stream)
}

// watchContext is the context of every watch of this package: it requires
// a leader, so that a watch on a member cut off from the cluster ends
// instead of going silent.
func watchContext(ctx context.Context) context.Context {
	return clientv3.WithRequireLeader(ctx)
}

// progressFixed is, for each etcd 3.x minor version, the first patch
// release that sends a requested progress notification only once every
// watch on the stream has caught up, and at all to a watch that caught up
// without an event (etcd PRs 15237 and 17557); 3.6 and later do both.
var progressFixed = map[int]int{4: 31, 5: 13}

// progressInOrder returns nil if every endpoint of the client runs an etcd
// whose progress notifications never overtake events, or an error wrapping
// [errors.ErrUnsupported] naming each that does not, or that did not
// answer within Options.UnavailableAfter.
func (s *Source[T]) progressInOrder(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.unavailableAfter)
	defer cancel()
	eps := s.client.Endpoints()
	errs := make([]error, len(eps))
	var wg sync.WaitGroup
	for i, ep := range eps {
		wg.Go(func() {
			resp, err := s.client.Status(ctx, ep)
			switch {
			case err != nil:
				errs[i] = fmt.Errorf("endpoint %s: server version unknown: %w", ep, err)
			case !progressOrdered(resp.Version):
				errs[i] = fmt.Errorf("endpoint %s runs etcd %s, which may send progress notifications ahead of events (fixed in 3.4.31, 3.5.13, 3.6)", ep, resp.Version)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", errors.ErrUnsupported, err)
	}
	return nil
}

// progressOrdered reports whether etcd version v ("3.4.23", "3.6.0-rc.1")
// sends requested progress notifications in order with the events.
func progressOrdered(v string) bool {
	var n [3]int
	for i, f := range strings.SplitN(v, ".", 3) {
		f, _, _ = strings.Cut(f, "-")
		x, err := strconv.Atoi(f)
		if err != nil || x < 0 {
			return false
		}
		n[i] = x
	}
	major, minor, patch := n[0], n[1], n[2]
	if major != 3 {
		return major > 3
	}
	if fixed, ok := progressFixed[minor]; ok {
		return patch >= fixed
	}
	return minor > 5
}

// watch is one open watch: its goroutine translates etcd's responses.
type watch[T controlloop.Object] struct {
	src      *Source[T]
	opts     controlloop.WatchOptions
	matchAll bool // no label selector
	// ordered says that every endpoint sends progress notifications in
	// order with the events: only then do they become bookmarks.
	ordered  bool
	probeKey string // a key of the watch's range, read to probe etcd
	out      chan controlloop.Event[T]
	// delivered is the revision of the last event sent: a bookmark is sent
	// only if it brings the consumer further.
	delivered int64
}

// run translates the responses of the client's watch, which created
// delivers once etcd has created it, until the watch ends.
func (w *watch[T]) run(ctx context.Context, created <-chan clientv3.WatchChan) {
	var in clientv3.WatchChan // nil until created
	quiet := time.NewTimer(w.src.unavailableAfter)
	defer quiet.Stop()
	for {
		var resp clientv3.WatchResponse
		var ok bool
		select {
		case in = <-created:
			created = nil
			continue
		case resp, ok = <-in:
		case <-quiet.C:
			if err := w.probe(ctx); err != nil {
				w.send(ctx, controlloop.Event[T]{Type: controlloop.Error, Err: err})
				return
			}
			quiet.Reset(w.src.unavailableAfter)
			continue
		case <-ctx.Done():
			return
		}
		if !ok {
			return // the client ended the watch: ctx done or client closed
		}
		quiet.Reset(w.src.unavailableAfter)
		if err := resp.Err(); err != nil {
			if ctx.Err() == nil {
				w.send(ctx, controlloop.Event[T]{Type: controlloop.Error, Err: fmt.Errorf("etcd: watch after revision %d: %w", w.delivered, mapErr(err))})
			}
			return
		}
		if resp.IsProgressNotify() {
			rev := resp.Header.Revision
			switch {
			case rev <= w.delivered:
			case !w.ordered:
				// A server that may send progress ahead of events: the
				// client now resumes a broken watch from rev + 1, which may
				// skip undelivered events. End the watch instead; the
				// consumer watches again from what it has.
				w.src.log.Warn("etcd: watch ended by a progress notification its server may send ahead of events", "afterRevision", w.delivered, "progressRevision", rev)
				return
			case w.opts.AllowBookmarks:
				if !w.send(ctx, controlloop.Event[T]{Type: controlloop.Bookmark, ResourceVersion: formatRev(rev)}) {
					return
				}
				w.delivered = rev
			}
			continue
		}
		for _, ev := range resp.Events {
			out, ok := w.convert(ev)
			if !ok {
				continue // filtered out or skipped: a later bookmark covers it
			}
			if !w.send(ctx, out) {
				return
			}
			w.delivered = ev.Kv.ModRevision
		}
	}
}

// probe checks, after the watch has heard nothing for
// Options.UnavailableAfter, that etcd answers: it reads the watch's probe
// key, which needs a leader, within the same bound. It returns nil if etcd
// answered or ctx ended, else an error wrapping [ErrUnavailable].
func (w *watch[T]) probe(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, w.src.unavailableAfter)
	defer cancel()
	_, err := w.src.client.Get(pctx, w.probeKey, clientv3.WithCountOnly())
	if err == nil || ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("etcd: watch after revision %d: %w: no answer for %v, and a read failed: %w", w.delivered, ErrUnavailable, w.src.unavailableAfter, err)
}

// send delivers ev unless ctx ends first.
func (w *watch[T]) send(ctx context.Context, ev controlloop.Event[T]) bool {
	select {
	case w.out <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

// convert turns an etcd event into the event the consumer sees, if any.
// A value that cannot be decoded is skipped, reported, and counts as
// absent: a change that makes an object undecodable reaches the consumer
// as its deletion, one that repairs it as its addition.
func (w *watch[T]) convert(ev *clientv3.Event) (controlloop.Event[T], bool) {
	var none controlloop.Event[T]
	rv := formatRev(ev.Kv.ModRevision)
	event := func(t controlloop.EventType, obj T) (controlloop.Event[T], bool) {
		return controlloop.Event[T]{Type: t, Object: obj, ResourceVersion: rv}, true
	}
	// prev is the state before the change, stamped with the change's
	// revision, as a Deleted event carries it; was says that the consumer
	// holds it (it matched the selector). etcd omits it if compaction
	// removed it. An undecodable previous value was reported when it was
	// the current one.
	var prev T
	was := false
	if ev.PrevKv != nil {
		if p, err := w.src.decode(ev.PrevKv); err == nil {
			prev, was = p, w.matches(p)
			prev.GetObjectMeta().ResourceVersion = rv
		}
	}
	// unknown says that whether the consumer holds the object is unknown,
	// as the previous state is. A spurious delete is then harmless, a lost
	// one is not.
	unknown := ev.PrevKv == nil && !ev.IsCreate()
	if ev.Type == mvccpb.DELETE {
		switch {
		case was:
			return event(controlloop.Deleted, prev)
		case unknown:
			return w.deletedKey(ev.Kv.Key, rv)
		}
		return none, false
	}
	cur, err := w.src.decode(ev.Kv)
	if err != nil {
		w.src.skip("watch", ev.Kv.Key, err)
	}
	now := err == nil && w.matches(cur)
	switch {
	case now && (was || unknown):
		return event(controlloop.Modified, cur)
	case now:
		return event(controlloop.Added, cur)
	case was:
		return event(controlloop.Deleted, prev)
	case unknown && err == nil:
		return event(controlloop.Deleted, cur)
	case unknown:
		return w.deletedKey(ev.Kv.Key, rv)
	}
	return none, false
}

// matches reports whether obj matches the watch's label selector.
func (w *watch[T]) matches(obj T) bool {
	return w.matchAll || w.opts.Selector.MatchesLabels(obj.GetObjectMeta().Labels)
}

// deletedKey returns a Deleted event at version rv that carries the key
// alone, if key is well formed.
func (w *watch[T]) deletedKey(key []byte, rv string) (controlloop.Event[T], bool) {
	k, err := w.src.parseKey(key)
	if err != nil {
		return controlloop.Event[T]{}, false // reported when it was written
	}
	obj := w.src.newObject()
	m := obj.GetObjectMeta()
	m.Namespace, m.Name, m.ResourceVersion = k.Namespace, k.Name, rv
	return controlloop.Event[T]{Type: controlloop.Deleted, Object: obj, ResourceVersion: rv}, true
}
