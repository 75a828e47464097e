package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/etcd"
	"github.com/controlloop/controlloop/etcd/etcdtest"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/reflector"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"pgregory.net/rapid"
)

// note is one notification as a recorder saw it.
type note struct {
	kind string // add, update, delete
	key  string
	rv   int64
}

// recorder is an informer handler that records every notification.
type recorder struct {
	mu    sync.Mutex // protects notes
	notes []note
}

func (r *recorder) OnAdd(p *Pod, _ bool)    { r.add("add", p) }
func (r *recorder) OnUpdate(_, p *Pod)      { r.add("update", p) }
func (r *recorder) OnDelete(p *Pod, _ bool) { r.add("delete", p) }
func (r *recorder) add(kind string, p *Pod) {
	rv, _ := strconv.ParseInt(p.ResourceVersion, 10, 64)
	r.mu.Lock()
	r.notes = append(r.notes, note{kind, controlloop.KeyOf(p).String(), rv})
	r.mu.Unlock()
}

func (r *recorder) all() []note {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.notes)
}

// replay applies the notifications to a map of key -> version.
func (r *recorder) replay() map[string]int64 {
	state := map[string]int64{}
	for _, n := range r.all() {
		if n.kind == "delete" {
			delete(state, n.key)
		} else {
			state[n.key] = n.rv
		}
	}
	return state
}

// TestInformerEventualConsistency is the informer's defining property
// against etcd, smaller than the informer package's own: after creates,
// updates and deletes interleaved with compactions, watches held back past
// them (so that they resume from a compacted revision), cut connections and
// handlers added late, once the faults stop,
//  1. the cache equals etcd's contents;
//  2. replaying each handler's notifications yields etcd's contents;
//  3. every object a handler saw that etcd no longer holds reached it as a
//     delete;
//
// and no handler ever sees an object's version go backwards.
func TestInformerEventualConsistency(t *testing.T) {
	srv := etcdtest.Start(t, etcdtest.Options{})
	c := srv.Client(t)
	limitChecks(t, 8)
	rapid.Check(t, func(rt *rapid.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		src, err := etcd.New[*Pod](c, etcd.Options{Prefix: fmt.Sprintf("/informer/%d", prefixes.Add(1))})
		if err != nil {
			rt.Fatal(err)
		}
		names := rapid.SampledFrom([]string{"a", "b", "c", "d"})
		namespaces := rapid.SampledFrom([]string{"ns1", "ns2"})
		key := func(t *rapid.T) controlloop.Key {
			return controlloop.Key{Namespace: namespaces.Draw(t, "ns"), Name: names.Draw(t, "name")}
		}
		for range rapid.IntRange(0, 4).Draw(rt, "initial") {
			k := key(rt)
			_, _ = src.Create(ctx, pod(k.Namespace, k.Name, nil))
		}
		g := &gate{ListerWatcher: src}
		inf, err := informer.New[*Pod](g, informer.Options[*Pod]{
			Logger: quietLog,
			Reflector: reflector.Options{
				Logger: quietLog, PageSize: 3,
				InitialBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
			},
		})
		if err != nil {
			rt.Fatal(err)
		}
		handlers := []*recorder{{}}
		if _, err := inf.AddHandler(handlers[0], informer.HandlerOptions{}); err != nil {
			rt.Fatal(err)
		}
		runCtx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Go(func() { _ = inf.Run(runCtx) })
		defer func() { stop(); wg.Wait() }()

		var release func()
		rt.Repeat(map[string]func(*rapid.T){
			"create": func(t *rapid.T) {
				k := key(t)
				_, _ = src.Create(ctx, pod(k.Namespace, k.Name, nil))
			},
			"update": func(t *rapid.T) {
				if p, err := src.Get(ctx, key(t)); err == nil {
					p.Spec = strconv.Itoa(rapid.IntRange(0, 9).Draw(t, "spec"))
					_, _ = src.Update(ctx, p)
				}
			},
			"delete": func(t *rapid.T) {
				_ = src.Delete(ctx, key(t), controlloop.DeleteOptions{})
			},
			"compact": func(t *rapid.T) {
				resp, err := c.Get(ctx, "/")
				if err != nil {
					t.Fatal(err)
				}
				if _, err := c.Compact(ctx, resp.Header.Revision); err != nil && !errors.Is(err, rpctypes.ErrCompacted) {
					t.Fatal(err)
				}
			},
			"hold watches": func(t *rapid.T) {
				if release == nil {
					release = g.hold()
				}
			},
			"release watches": func(t *rapid.T) {
				if release != nil {
					release()
					release = nil
				}
			},
			"cut connections": func(t *rapid.T) {
				srv.CutConnections()
				deadline := time.Now().Add(10 * time.Second)
				for {
					if _, err := c.Get(ctx, "/"); err == nil {
						return
					} else if time.Now().After(deadline) {
						t.Fatalf("client did not reconnect: %v", err)
					}
					time.Sleep(10 * time.Millisecond)
				}
			},
			"late handler": func(t *rapid.T) {
				if len(handlers) > 2 {
					t.Skip("enough handlers")
				}
				h := &recorder{}
				if _, err := inf.AddHandler(h, informer.HandlerOptions{}); err != nil {
					t.Fatal(err)
				}
				handlers = append(handlers, h)
			},
			"sleep": func(t *rapid.T) {
				time.Sleep(time.Duration(rapid.IntRange(1, 30).Draw(t, "ms")) * time.Millisecond)
			},
		})
		if release != nil {
			release()
		}

		res, err := src.List(ctx, controlloop.ListOptions{})
		if err != nil {
			rt.Fatal(err)
		}
		want := map[string]int64{}
		for _, p := range res.Items {
			want[controlloop.KeyOf(p).String()], _ = strconv.ParseInt(p.ResourceVersion, 10, 64)
		}
		cache := func() map[string]int64 {
			state := map[string]int64{}
			for _, p := range inf.Reader().List(controlloop.Selector{}) {
				state[controlloop.KeyOf(p).String()], _ = strconv.ParseInt(p.ResourceVersion, 10, 64)
			}
			return state
		}
		deadline := time.Now().Add(15 * time.Second)
		for {
			done := maps.Equal(cache(), want)
			for _, h := range handlers {
				done = done && maps.Equal(h.replay(), want)
			}
			if done {
				break
			}
			if time.Now().After(deadline) {
				rt.Fatalf("no convergence: etcd %v, cache %v, handlers %v", want, cache(), handlers[0].replay())
			}
			time.Sleep(10 * time.Millisecond)
		}
		for i, h := range handlers {
			last := map[string]note{}
			for _, n := range h.all() {
				if prev, ok := last[n.key]; ok && n.rv < prev.rv {
					rt.Fatalf("handler %d: %s went back from version %d to %d", i, n.key, prev.rv, n.rv)
				}
				last[n.key] = n
			}
			for k, n := range last {
				if _, exists := want[k]; !exists && n.kind != "delete" {
					rt.Fatalf("handler %d: %s is gone from etcd but its last notification was %s", i, k, n.kind)
				}
			}
		}
	})
}

// cutAfterBookmark is a source whose first watch is made to replay a
// burst of writes, with progress notifications requested meanwhile, and
// is cut right after its first bookmark, as a broken connection would cut
// it: the reflector then watches again from that bookmark.
type cutAfterBookmark struct {
	*etcd.Source[*Pod]
	before, during func() // run before and after the first watch starts
	calls          atomic.Int64
}

func (c *cutAfterBookmark) Watch(ctx context.Context, opts controlloop.WatchOptions) (<-chan controlloop.Event[*Pod], error) {
	if c.calls.Add(1) != 1 {
		return c.Source.Watch(ctx, opts)
	}
	c.before()
	ctx, cancel := context.WithCancel(ctx)
	in, err := c.Source.Watch(ctx, opts)
	if err != nil {
		cancel()
		return nil, err
	}
	c.during()
	out := make(chan controlloop.Event[*Pod])
	go func() {
		defer close(out)
		defer cancel()
		for ev := range in {
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
			if ev.Type == controlloop.Bookmark {
				return
			}
		}
	}()
	return out, nil
}

// TestInformerCutAfterProgress (issue 13, item 1): an informer whose watch
// is cut right after a progress notification, while the watch replays
// changes made after its list, ends with the cache equal to etcd's
// contents. On etcd 3.4 the notification used to become a bookmark ahead
// of the replayed changes, the reflector resumed from it, and the changes
// in between never reached the cache.
func TestInformerCutAfterProgress(t *testing.T) {
	forEachServer(t, func(t *testing.T, opts etcdtest.Options) {
		e := newEnv(t, opts)
		ctx := testContext(t, 60*time.Second)
		if _, err := e.src.Create(ctx, pod("ns", "p0", nil)); err != nil {
			t.Fatal(err)
		}
		// Progress is requested, as other users of the client would (on
		// its shared stream) and on the source's own stream, until the
		// watch is cut: etcd 3.4 answers at once, during the replay; a
		// server that orders its answers only once the watch has caught
		// up, past its last event thanks to a write elsewhere.
		var requests sync.WaitGroup
		defer requests.Wait()
		rctx, stopRequests := context.WithCancel(ctx)
		defer stopRequests()
		var lw *cutAfterBookmark
		lw = &cutAfterBookmark{
			Source: e.src,
			before: func() { writeHistory(t, ctx, e, e.src, 1000) },
			during: func() {
				if _, err := e.client.Put(ctx, "/elsewhere", "x"); err != nil {
					t.Error(err)
				}
				requests.Go(func() {
					tick := time.NewTicker(20 * time.Millisecond)
					defer tick.Stop()
					for lw.calls.Load() < 2 && rctx.Err() == nil {
						_ = e.client.RequestProgress(clientv3.WithRequireLeader(rctx))
						_ = etcd.RequestProgressUnchecked(rctx, e.src)
						select {
						case <-tick.C:
						case <-rctx.Done():
						}
					}
				})
			},
		}
		inf, err := informer.New[*Pod](lw, informer.Options[*Pod]{
			Logger:    quietLog,
			Reflector: reflector.Options{Logger: quietLog, InitialBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond},
		})
		if err != nil {
			t.Fatal(err)
		}
		runCtx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Go(func() { _ = inf.Run(runCtx) })
		defer func() { stop(); wg.Wait() }()
		cache := func() map[controlloop.Key]string {
			out := map[controlloop.Key]string{}
			for _, p := range inf.Reader().List(controlloop.Selector{}) {
				out[controlloop.KeyOf(p)] = p.ResourceVersion
			}
			return out
		}
		var want map[controlloop.Key]string
		deadline := time.Now().Add(3 * wait)
		for lw.calls.Load() < 2 || !maps.Equal(cache(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("after %d watches the cache differs from etcd (%d keys each):\n%v\n%v", lw.calls.Load(), len(want), cache(), want)
			}
			time.Sleep(10 * time.Millisecond)
			want = storeVersions(t, ctx, e.src, controlloop.Selector{})
		}
	})
}
