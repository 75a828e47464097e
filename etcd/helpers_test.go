package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/etcd"
	"github.com/controlloop/controlloop/etcd/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/goleak"
	"go.uber.org/zap"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Pod is the test object.
type Pod struct {
	controlloop.ObjectMeta
	Spec   string `json:"spec,omitempty"`
	Status string `json:"status,omitempty"`
}

func pod(ns, name string, labels map[string]string) *Pod {
	return &Pod{ObjectMeta: controlloop.ObjectMeta{Namespace: ns, Name: name, Labels: labels}}
}

// env is a running etcd server with a client and a source of pods.
type env struct {
	srv    *etcdtest.Server
	client *clientv3.Client
	src    *etcd.Source[*Pod]
}

var prefixes atomic.Int64

// newEnv starts an etcd server for t and a source of pods on it.
func newEnv(t testing.TB, opts etcdtest.Options) *env {
	t.Helper()
	srv := etcdtest.Start(t, opts)
	c := srv.Client(t)
	return &env{srv: srv, client: c, src: newSource(t, c)}
}

// newSource returns a source of pods under a prefix of its own.
func newSource(t testing.TB, c *clientv3.Client) *etcd.Source[*Pod] {
	t.Helper()
	src, err := etcd.New[*Pod](c, etcd.Options{Prefix: fmt.Sprintf("/test/pods-%d", prefixes.Add(1))})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// wantInvalid fails t unless err wraps controlloop.ErrInvalid and its
// message holds want (the field and the rule).
func wantInvalid(t testing.TB, what string, err error, want string) {
	t.Helper()
	if !errors.Is(err, controlloop.ErrInvalid) || !strings.Contains(err.Error(), want) {
		t.Errorf("%s: %v, want ErrInvalid with %q", what, err, want)
	}
}

func testContext(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond every 10ms until it holds, failing t after
// timeout.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// next receives the next event from ch within timeout.
func next(t testing.TB, ch <-chan controlloop.Event[*Pod], timeout time.Duration) controlloop.Event[*Pod] {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed")
		}
		return ev
	case <-time.After(timeout):
		t.Fatalf("no event within %v", timeout)
	}
	panic("unreachable")
}

// quiet asserts that ch delivers nothing for d.
func quiet(t testing.TB, ch <-chan controlloop.Event[*Pod], d time.Duration) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if ok {
			t.Fatalf("unexpected event %v %v at %s", ev.Type, keyOf(ev.Object), ev.ResourceVersion)
		}
		t.Fatal("watch channel closed")
	case <-time.After(d):
	}
}

func keyOf(p *Pod) string {
	if p == nil {
		return "<nil>"
	}
	return controlloop.KeyOf(p).String()
}

// mapSink is a reflector.Store that keeps the latest state of each object.
type mapSink struct {
	mu       sync.Mutex // protects the fields below
	objs     map[controlloop.Key]*Pod
	replaces int
}

func newMapSink() *mapSink { return &mapSink{objs: make(map[controlloop.Key]*Pod)} }

func (s *mapSink) Add(obj *Pod) error    { return s.put(obj) }
func (s *mapSink) Update(obj *Pod) error { return s.put(obj) }
func (s *mapSink) Resync() error         { return nil }

func (s *mapSink) put(obj *Pod) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objs[controlloop.KeyOf(obj)] = obj
	return nil
}

func (s *mapSink) Delete(obj *Pod) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.objs, controlloop.KeyOf(obj))
	return nil
}

func (s *mapSink) Replace(items []*Pod, _ string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replaces++
	clear(s.objs)
	for _, o := range items {
		s.objs[controlloop.KeyOf(o)] = o
	}
	return nil
}

func (s *mapSink) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.objs)
}

func (s *mapSink) Replaces() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.replaces
}

// versions returns key -> resource version of what the sink holds.
func (s *mapSink) versions() map[controlloop.Key]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[controlloop.Key]string, len(s.objs))
	for k, o := range s.objs {
		out[k] = o.ResourceVersion
	}
	return out
}

// storeVersions returns key -> resource version of what src holds under
// sel, read from etcd.
func storeVersions(t testing.TB, ctx context.Context, src *etcd.Source[*Pod], sel controlloop.Selector) map[controlloop.Key]string {
	t.Helper()
	res, err := src.List(ctx, controlloop.ListOptions{Selector: sel})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	out := make(map[controlloop.Key]string, len(res.Items))
	for _, o := range res.Items {
		out[controlloop.KeyOf(o)] = o.ResourceVersion
	}
	return out
}

// converged reports whether sink holds exactly what src holds under sel.
func converged(t testing.TB, ctx context.Context, sink *mapSink, src *etcd.Source[*Pod], sel controlloop.Selector) bool {
	return maps.Equal(sink.versions(), storeVersions(t, ctx, src, sel))
}

// quietZap is the logger of the etcd clients tests make by hand.
func quietZap() *zap.Logger { return zap.NewNop() }
