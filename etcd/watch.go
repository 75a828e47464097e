package etcd

import (
	"context"
	"fmt"

	"github.com/controlloop/controlloop"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
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
// the last revision it delivered, so a reconnect is invisible here; when
// the client gives up (ctx done, client closed, no leader) the channel
// closes, after an Error event if etcd said why.
//
// With opts.AllowBookmarks, the watch asks etcd for progress notifications
// and turns each into a Bookmark event carrying the revision up to which
// every change has been delivered, changes the label selector filtered out
// included. etcd sends them every --watch-progress-notify-interval (10
// minutes by default), and at once on [Source.RequestProgress].
//
// Under a label selector, a change that brings an object into the selector
// is reported as Added and one that takes it out as Deleted (carrying the
// state before the change, stamped with the change's revision), as an API
// server does: the previous value etcd sends makes this exact. Labels are
// matched here, on the client: etcd sends every change in the namespace.
//
// Each watch runs one goroutine, which ends and closes the channel once ctx
// is done; cancel ctx when you stop reading.
func (s *Source[T]) Watch(ctx context.Context, opts controlloop.WatchOptions) (<-chan controlloop.Event[T], error) {
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
		resp, err := s.client.Get(ctx, start, clientv3.WithRange(end), clientv3.WithCountOnly())
		if err != nil {
			return nil, fmt.Errorf("etcd: watch: read current revision: %w", mapErr(err))
		}
		from = resp.Header.Revision + 1
	}
	ops := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithRev(from), clientv3.WithPrevKV()}
	if opts.AllowBookmarks {
		ops = append(ops, clientv3.WithProgressNotify())
	}
	wctx, cancel := context.WithCancel(watchContext(ctx))
	w := &watch[T]{
		src:       s,
		opts:      opts,
		matchAll:  len(opts.Labels) == 0,
		out:       make(chan controlloop.Event[T], watchBuffer),
		delivered: from - 1,
	}
	in := s.client.Watch(wctx, start, ops...)
	go func() {
		defer cancel()
		w.run(wctx, in)
	}()
	return w.out, nil
}

// RequestProgress asks etcd to send a progress notification to every watch
// of this source's client that asked for bookmarks: each receives a
// Bookmark event as soon as it has caught up. etcd answers only once all
// watches on the stream are in sync.
func (s *Source[T]) RequestProgress(ctx context.Context) error {
	if err := s.client.RequestProgress(watchContext(ctx)); err != nil {
		return fmt.Errorf("etcd: request progress: %w", mapErr(err))
	}
	return nil
}

// watchContext is the context of every watch: it requires a leader, so
// that a watch on a member cut off from the cluster ends instead of going
// silent. The etcd client shares one stream among watches whose contexts
// carry the same metadata, which RequestProgress relies on.
func watchContext(ctx context.Context) context.Context {
	return clientv3.WithRequireLeader(ctx)
}

// watch is one open watch: its goroutine translates etcd's responses.
type watch[T controlloop.Object] struct {
	src      *Source[T]
	opts     controlloop.WatchOptions
	matchAll bool // no label selector
	out      chan controlloop.Event[T]
	// delivered is the revision of the last event sent: a bookmark is sent
	// only if it brings the consumer further.
	delivered int64
}

func (w *watch[T]) run(ctx context.Context, in clientv3.WatchChan) {
	defer close(w.out)
	for {
		var resp clientv3.WatchResponse
		var ok bool
		select {
		case resp, ok = <-in:
		case <-ctx.Done():
			return
		}
		if !ok {
			return // the client ended the watch: ctx done or client closed
		}
		if err := resp.Err(); err != nil {
			if ctx.Err() == nil {
				w.send(ctx, controlloop.Event[T]{Type: controlloop.Error, Err: fmt.Errorf("etcd: watch after revision %d: %w", w.delivered, mapErr(err))})
			}
			return
		}
		if resp.IsProgressNotify() {
			if rev := resp.Header.Revision; w.opts.AllowBookmarks && rev > w.delivered {
				if !w.send(ctx, controlloop.Event[T]{Type: controlloop.Bookmark, ResourceVersion: formatRev(rev)}) {
					return
				}
				w.delivered = rev
			}
			continue
		}
		for _, ev := range resp.Events {
			out, ok, err := w.convert(ev)
			if err != nil {
				w.send(ctx, controlloop.Event[T]{Type: controlloop.Error, Err: fmt.Errorf("etcd: watch: %w", err)})
				return
			}
			if !ok {
				continue // filtered out: a later bookmark covers it
			}
			if !w.send(ctx, out) {
				return
			}
			w.delivered = ev.Kv.ModRevision
		}
	}
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
func (w *watch[T]) convert(ev *clientv3.Event) (controlloop.Event[T], bool, error) {
	rev := ev.Kv.ModRevision
	var none controlloop.Event[T]
	var cur T
	if ev.Type == mvccpb.PUT {
		var err error
		if cur, err = w.src.decode(ev.Kv); err != nil {
			return none, false, err
		}
	}
	// prev is the state before the change, stamped with the change's
	// revision, as a Deleted event carries it. etcd omits it if it was
	// compacted away; a delete is then reported with the key alone.
	var prev T
	hasPrev := false
	if ev.PrevKv != nil {
		p, err := w.src.decode(ev.PrevKv)
		if err == nil {
			prev, hasPrev = p, true
			prev.GetObjectMeta().ResourceVersion = formatRev(rev)
		} else if ev.Type == mvccpb.PUT {
			return none, false, err
		}
	}
	if ev.Type == mvccpb.DELETE && !hasPrev {
		k, err := w.src.parseKey(ev.Kv.Key)
		if err != nil {
			return none, false, err
		}
		prev = w.src.newObject()
		m := prev.GetObjectMeta()
		m.Namespace, m.Name, m.ResourceVersion = k.Namespace, k.Name, formatRev(rev)
	}
	rv := formatRev(rev)
	event := func(t controlloop.EventType, obj T) (controlloop.Event[T], bool, error) {
		return controlloop.Event[T]{Type: t, Object: obj, ResourceVersion: rv}, true, nil
	}

	if w.matchAll {
		switch {
		case ev.Type == mvccpb.DELETE:
			return event(controlloop.Deleted, prev)
		case ev.IsCreate():
			return event(controlloop.Added, cur)
		default:
			return event(controlloop.Modified, cur)
		}
	}
	sel := w.opts.Selector
	if ev.Type == mvccpb.DELETE {
		if hasPrev && !sel.MatchesLabels(prev.GetObjectMeta().Labels) {
			return none, false, nil
		}
		// Without the previous state, whether the consumer holds the
		// object is unknown: a spurious delete is harmless, a lost one is
		// not.
		return event(controlloop.Deleted, prev)
	}
	now := sel.MatchesLabels(cur.GetObjectMeta().Labels)
	switch {
	case ev.IsCreate():
		if now {
			return event(controlloop.Added, cur)
		}
		return none, false, nil
	case !hasPrev:
		// The previous state is unknown: report the new one as a change,
		// or as a delete if it no longer matches.
		if now {
			return event(controlloop.Modified, cur)
		}
		return event(controlloop.Deleted, cur)
	}
	was := sel.MatchesLabels(prev.GetObjectMeta().Labels)
	switch {
	case now && was:
		return event(controlloop.Modified, cur)
	case now:
		return event(controlloop.Added, cur)
	case was:
		return event(controlloop.Deleted, prev)
	}
	return none, false, nil
}
