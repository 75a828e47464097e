package etcd_test

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/etcd"
	"github.com/controlloop/controlloop/etcd/etcdtest"
	"github.com/controlloop/controlloop/reflector"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"pgregory.net/rapid"
)

// limitChecks lowers rapid's number of checks to n for a test against a
// real server, unless -rapid.checks was given.
func limitChecks(t *testing.T, n int) {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "rapid.checks" })
	if set {
		return
	}
	f := flag.Lookup("rapid.checks")
	old := f.Value.String()
	if err := f.Value.Set(fmt.Sprint(n)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Value.Set(old) })
}

// TestReflectorConvergesProperty: under random creates, updates (moving
// objects in and out of the label selector), deletes, compactions, watches
// held back past compactions, and cut connections, a reflector's store
// ends up holding exactly what etcd holds under its selector, once writes
// stop.
func TestReflectorConvergesProperty(t *testing.T) {
	srv := etcdtest.Start(t, etcdtest.Options{})
	c := srv.Client(t)
	limitChecks(t, 8)
	selectors := []controlloop.Selector{
		{},
		{Namespace: "a"},
		{Labels: map[string]string{"l": "x"}},
		{Namespace: "b", Labels: map[string]string{"l": "y"}},
	}
	rapid.Check(t, func(rt *rapid.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		src, err := etcd.New[*Pod](c, etcd.Options{Prefix: fmt.Sprintf("/property/%d", prefixes.Add(1))})
		if err != nil {
			rt.Fatal(err)
		}
		sel := rapid.SampledFrom(selectors).Draw(rt, "selector")
		g := &gate{ListerWatcher: src}
		sink := newMapSink()
		r, err := reflector.New(g, sink, reflector.Options{
			Selector: sel, PageSize: rapid.IntRange(-1, 4).Draw(rt, "pageSize"),
			InitialBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Logger: quietLog,
		})
		if err != nil {
			rt.Fatal(err)
		}
		runCtx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Go(func() { r.Run(runCtx) })
		defer func() { stop(); wg.Wait() }()

		model := map[controlloop.Key]*Pod{} // what etcd holds
		var release func()
		keys := rapid.Custom(func(t *rapid.T) controlloop.Key {
			return controlloop.Key{
				Namespace: rapid.SampledFrom([]string{"", "a", "b"}).Draw(t, "ns"),
				Name:      rapid.SampledFrom([]string{"p0", "p1", "p2", "p3"}).Draw(t, "name"),
			}
		})
		label := rapid.SampledFrom([]string{"x", "y"})
		rt.Repeat(map[string]func(*rapid.T){
			"create": func(t *rapid.T) {
				k := keys.Draw(t, "key")
				p := pod(k.Namespace, k.Name, map[string]string{"l": label.Draw(t, "label")})
				got, err := src.Create(ctx, p)
				if _, exists := model[k]; exists {
					if err == nil {
						t.Fatalf("create of existing %v succeeded", k)
					}
					return
				}
				if err != nil {
					t.Fatalf("create %v: %v", k, err)
				}
				model[k] = got
			},
			"update": func(t *rapid.T) {
				if len(model) == 0 {
					t.Skip("empty")
				}
				k := rapid.SampledFrom(sortedKeys(model)).Draw(t, "key")
				p := *model[k]
				p.Labels = map[string]string{"l": label.Draw(t, "label")}
				p.Spec = rapid.StringN(0, 4, 4).Draw(t, "spec")
				got, err := src.Update(ctx, &p)
				if err != nil {
					t.Fatalf("update %v: %v", k, err)
				}
				model[k] = got
			},
			"delete": func(t *rapid.T) {
				if len(model) == 0 {
					t.Skip("empty")
				}
				k := rapid.SampledFrom(sortedKeys(model)).Draw(t, "key")
				if err := src.Delete(ctx, k, controlloop.DeleteOptions{ResourceVersion: model[k].ResourceVersion}); err != nil {
					t.Fatalf("delete %v: %v", k, err)
				}
				delete(model, k)
			},
			"compact": func(t *rapid.T) {
				resp, err := c.Get(ctx, "/")
				if err != nil {
					t.Fatal(err)
				}
				// Compacting at the revision already compacted fails: fine.
				if _, err := c.Compact(ctx, resp.Header.Revision); err != nil && !errors.Is(err, rpctypes.ErrCompacted) {
					t.Fatalf("compact: %v", err)
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
				for { // wait for the client to be back before the next write
					if _, err := c.Get(ctx, "/"); err == nil {
						return
					} else if time.Now().After(deadline) {
						t.Fatalf("client did not reconnect: %v", err)
					}
					time.Sleep(10 * time.Millisecond)
				}
			},
		})
		if release != nil {
			release()
		}

		want := map[controlloop.Key]string{}
		for k, p := range model {
			if sel.Matches(p) {
				want[k] = p.ResourceVersion
			}
		}
		deadline := time.Now().Add(15 * time.Second)
		for !maps.Equal(sink.versions(), want) {
			if time.Now().After(deadline) {
				rt.Fatalf("store did not converge:\n got %v\nwant %v", sink.versions(), want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

func sortedKeys(m map[controlloop.Key]*Pod) []controlloop.Key {
	return slices.SortedFunc(maps.Keys(m), func(a, b controlloop.Key) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	})
}
