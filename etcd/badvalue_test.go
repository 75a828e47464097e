package etcd_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/etcd"
	"github.com/controlloop/controlloop/etcd/etcdtest"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/reflector"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Node is a second object type, stored under a Pod source's prefix by
// mistake in these tests.
type Node struct {
	controlloop.ObjectMeta
	Spec string `json:"spec,omitempty"`
}

// decodeReports records what a source reports through OnDecodeError and
// its logger.
type decodeReports struct {
	mu   sync.Mutex // protects keys, errs and log
	keys []string
	errs []error
	log  bytes.Buffer
}

func (r *decodeReports) report(key string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keys = append(r.keys, key)
	r.errs = append(r.errs, err)
}

func (r *decodeReports) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.log.Write(p)
}

// check fails t unless exactly the keys were reported, each with an error
// wrapping ErrDecode and a Warn log line naming it.
func (r *decodeReports) check(t *testing.T, what string, keys ...string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if diff := cmp.Diff(keys, r.keys); diff != "" {
		t.Errorf("%s: reported keys (-want +got):\n%s", what, diff)
	}
	for i, err := range r.errs {
		if !errors.Is(err, etcd.ErrDecode) {
			t.Errorf("%s: %s reported with %v, want ErrDecode", what, r.keys[i], err)
		}
	}
	for _, k := range keys {
		if !strings.Contains(r.log.String(), "level=WARN") || !strings.Contains(r.log.String(), "key="+k) {
			t.Errorf("%s: no Warn log line with key %s in:\n%s", what, k, r.log.String())
		}
	}
	r.keys, r.errs = nil, nil
	r.log.Reset()
}

// newReportingSource returns a source of pods whose skipped values go to
// the returned reports.
func newReportingSource(t *testing.T, e *env) (*etcd.Source[*Pod], *decodeReports) {
	t.Helper()
	r := &decodeReports{}
	src, err := etcd.New[*Pod](e.client, etcd.Options{
		Prefix:        fmt.Sprintf("/test/bad-%d", prefixes.Add(1)),
		Logger:        slog.New(slog.NewTextHandler(r, nil)),
		OnDecodeError: r.report,
	})
	if err != nil {
		t.Fatal(err)
	}
	return src, r
}

// TestListSkipsBadValues (issue 13, item 5): List leaves out an
// undecodable value, a malformed key and a value of another kind, reports
// each (OnDecodeError with ErrDecode, ErrKind for the other kind, and a
// Warn log line with the key), and serves the rest, on every page. Get of
// a bad key still fails with ErrDecode.
func TestListSkipsBadValues(t *testing.T) {
	e := newEnv(t, etcdtest.Options{})
	ctx := testContext(t, 30*time.Second)
	src, reports := newReportingSource(t, e)
	nodes, err := etcd.New[*Node](e.client, etcd.Options{Prefix: src.Prefix(), Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "c", "e"} {
		if _, err := src.Create(ctx, pod("ns", name, nil)); err != nil {
			t.Fatal(err)
		}
	}
	bad, deep := src.Prefix()+"/ns/b", src.Prefix()+"/ns/d/x"
	if _, err := e.client.Put(ctx, bad, "{not json"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Put(ctx, deep, "{}"); err != nil {
		t.Fatal(err)
	}
	if _, err := nodes.Create(ctx, &Node{ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: "d"}}); err != nil {
		t.Fatal(err)
	}
	node := src.Prefix() + "/ns/d"
	reg := prometheus.NewRegistry()
	m, err := etcd.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	counted, err := etcd.New[*Pod](e.client, etcd.Options{Prefix: src.Prefix(), Logger: quietLog, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := counted.List(ctx, controlloop.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := testutil.ToFloat64(m.Undecodable(src.Prefix())); n != 3 {
		t.Errorf("controlloop_etcd_undecodable_values_total{prefix=%q} = %v after a List past 3 bad values, want 3", src.Prefix(), n)
	}
	if again, err := etcd.NewMetrics(reg); err != nil || testutil.ToFloat64(again.Undecodable(src.Prefix())) != 3 {
		t.Errorf("a second NewMetrics on the registry: %v; want the same counters", err)
	}
	if _, err := etcd.NewMetrics(nil); !errors.Is(err, controlloop.ErrInvalid) {
		t.Errorf("NewMetrics(nil) = %v, want ErrInvalid", err)
	}
	if _, err := etcd.NewMetrics((*prometheus.Registry)(nil)); !errors.Is(err, controlloop.ErrInvalid) {
		t.Errorf("NewMetrics of a nil *Registry = %v, want ErrInvalid", err)
	}
	for _, limit := range []int{0, 1, 2} {
		var got []string
		var opts controlloop.ListOptions
		opts.Limit = limit
		for {
			res, err := src.List(ctx, opts)
			if err != nil {
				t.Fatalf("limit %d: %v", limit, err)
			}
			for _, p := range res.Items {
				got = append(got, keyOf(p))
			}
			if res.Continue == "" {
				break
			}
			opts.Continue = res.Continue
		}
		if want := []string{"ns/a", "ns/c", "ns/e"}; !slices.Equal(got, want) {
			t.Errorf("limit %d: listed %v, want %v", limit, got, want)
		}
		reports.check(t, fmt.Sprintf("limit %d", limit), bad, node, deep)
	}
	// With the default logger (slog's default) too.
	plain, err := etcd.New[*Pod](e.client, etcd.Options{Prefix: src.Prefix()})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := plain.List(ctx, controlloop.ListOptions{}); err != nil || len(res.Items) != 3 {
		t.Errorf("List with the default logger: %d items, %v; want 3", len(res.Items), err)
	}
	if _, err := src.Get(ctx, controlloop.Key{Namespace: "ns", Name: "d"}); !errors.Is(err, etcd.ErrDecode) || !errors.Is(err, etcd.ErrKind) {
		t.Errorf("Get of a Node as a Pod: %v, want ErrDecode and ErrKind", err)
	}
	if _, err := src.Get(ctx, controlloop.Key{Namespace: "ns", Name: "b"}); !errors.Is(err, etcd.ErrDecode) {
		t.Errorf("Get of an undecodable value: %v, want ErrDecode", err)
	}
}

// TestWatchSkipsBadValues (issue 13, item 5): a watch skips and reports an
// undecodable value instead of ending; a change that makes an object
// undecodable reaches the consumer as its deletion, its repair as an
// addition, and the watch goes on.
func TestWatchSkipsBadValues(t *testing.T) {
	e := newEnv(t, etcdtest.Options{})
	ctx := testContext(t, 30*time.Second)
	src, reports := newReportingSource(t, e)
	ch, err := src.Watch(ctx, controlloop.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Create(ctx, pod("ns", "b", nil)); err != nil {
		t.Fatal(err)
	}
	put := func(key, value string) {
		t.Helper()
		if _, err := e.client.Put(ctx, key, value); err != nil {
			t.Fatal(err)
		}
	}
	bad, bkey := src.Prefix()+"/ns/a", src.Prefix()+"/ns/b"
	put(bad, "{not json")             // created undecodable: skipped
	put(bkey, "[1]")                  // b made undecodable: deleted
	put(bad, "{not json either")      // still undecodable: skipped
	put(bkey, `{"spec":"fixed"}`)     // b repaired: added
	put(src.Prefix()+"/ns/x/y", "{}") // malformed key: skipped
	if _, err := src.Create(ctx, pod("ns", "c", nil)); err != nil {
		t.Fatal(err)
	}
	type seen struct {
		typ  controlloop.EventType
		key  string
		spec string
	}
	var got []seen
	for len(got) < 4 {
		ev := next(t, ch, wait)
		if ev.Type == controlloop.Error {
			t.Fatalf("watch ended with %v", ev.Err)
		}
		got = append(got, seen{ev.Type, keyOf(ev.Object), ev.Object.Spec})
	}
	want := []seen{
		{controlloop.Added, "ns/b", ""},
		{controlloop.Deleted, "ns/b", ""},
		{controlloop.Added, "ns/b", "fixed"},
		{controlloop.Added, "ns/c", ""},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(seen{})); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	reports.check(t, "watch", bad, bkey, bad, src.Prefix()+"/ns/x/y")
}

// TestInformerSyncsPastBadValue (issue 13, item 5): one undecodable value
// under the prefix no longer keeps an informer from syncing; it serves the
// other objects.
func TestInformerSyncsPastBadValue(t *testing.T) {
	e := newEnv(t, etcdtest.Options{})
	ctx := testContext(t, 30*time.Second)
	src, reports := newReportingSource(t, e)
	if _, err := src.Create(ctx, pod("ns", "a", nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Put(ctx, src.Prefix()+"/ns/b", "{not json"); err != nil {
		t.Fatal(err)
	}
	inf, err := informer.New[*Pod](src, informer.Options[*Pod]{Logger: quietLog, Reflector: reflector.Options{Logger: quietLog}})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = inf.Run(runCtx) })
	defer func() { stop(); wg.Wait() }()
	syncCtx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if err := informer.WaitForCacheSync(syncCtx, inf.HasSynced); err != nil {
		t.Fatalf("informer did not sync: %v", err)
	}
	var keys []string
	for _, p := range inf.Reader().List(controlloop.Selector{}) {
		keys = append(keys, keyOf(p))
	}
	if !slices.Equal(keys, []string{"ns/a"}) {
		t.Errorf("cache holds %v, want [ns/a]", keys)
	}
	reports.mu.Lock()
	defer reports.mu.Unlock()
	if len(reports.keys) == 0 || slices.ContainsFunc(reports.keys, func(k string) bool { return k != src.Prefix()+"/ns/b" }) {
		t.Errorf("reported %v, want the bad key", reports.keys)
	}
}
