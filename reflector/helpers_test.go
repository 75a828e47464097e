package reflector_test

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/reflector"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Pod is the test object.
type Pod struct {
	controlloop.ObjectMeta
	Spec string
}

func (p *Pod) DeepCopy() *Pod {
	c := *p
	c.Labels = maps.Clone(p.Labels)
	c.OwnerReferences = slices.Clone(p.OwnerReferences)
	return &c
}

func pod(ns, name string) *Pod {
	return &Pod{ObjectMeta: controlloop.ObjectMeta{Namespace: ns, Name: name}}
}

var quiet = slog.New(slog.DiscardHandler)

// sink is a [reflector.Store] that keeps a map, logs every call, and records
// any call that breaks the order a consistent stream must follow.
type sink struct {
	mu         sync.Mutex // protects everything below
	objs       map[controlloop.Key]*Pod
	rv         uint64 // version of the last change applied
	ops        []string
	violations []string
	resyncs    []time.Time
	fail       map[string]error // method -> error for its next call
}

var _ reflector.Store[*Pod] = (*sink)(nil)

func newSink() *sink {
	return &sink{objs: make(map[controlloop.Key]*Pod), fail: make(map[string]error)}
}

func (s *sink) failNext(method string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[method] = err
}

func (s *sink) lockedTakeFail(method string) error {
	err := s.fail[method]
	delete(s.fail, method)
	return err
}

// lockedVersion checks that obj comes after everything applied so far.
func (s *sink) lockedVersion(op string, obj *Pod) {
	rv, err := strconv.ParseUint(obj.ResourceVersion, 10, 64)
	if err != nil || rv <= s.rv {
		s.violations = append(s.violations, fmt.Sprintf("%s %v at version %q after %d", op, controlloop.KeyOf(obj), obj.ResourceVersion, s.rv))
		return
	}
	s.rv = rv
}

func (s *sink) Add(obj *Pod) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.lockedTakeFail("Add"); err != nil {
		return err
	}
	k := controlloop.KeyOf(obj)
	if _, ok := s.objs[k]; ok {
		s.violations = append(s.violations, "add of present "+k.String())
	}
	s.lockedVersion("add", obj)
	s.objs[k] = obj
	s.ops = append(s.ops, "add "+k.String())
	return nil
}

func (s *sink) Update(obj *Pod) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.lockedTakeFail("Update"); err != nil {
		return err
	}
	k := controlloop.KeyOf(obj)
	if _, ok := s.objs[k]; !ok {
		s.violations = append(s.violations, "update of absent "+k.String())
	}
	s.lockedVersion("update", obj)
	s.objs[k] = obj
	s.ops = append(s.ops, "update "+k.String())
	return nil
}

func (s *sink) Delete(obj *Pod) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.lockedTakeFail("Delete"); err != nil {
		return err
	}
	k := controlloop.KeyOf(obj)
	if _, ok := s.objs[k]; !ok {
		s.violations = append(s.violations, "delete of absent "+k.String())
	}
	s.lockedVersion("delete", obj)
	delete(s.objs, k)
	s.ops = append(s.ops, "delete "+k.String())
	return nil
}

func (s *sink) Replace(items []*Pod, rv string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.lockedTakeFail("Replace"); err != nil {
		return err
	}
	v, err := strconv.ParseUint(rv, 10, 64)
	if err != nil {
		s.violations = append(s.violations, "replace at version "+rv)
	}
	s.rv = v
	s.objs = make(map[controlloop.Key]*Pod, len(items))
	for _, it := range items {
		s.objs[controlloop.KeyOf(it)] = it
	}
	s.ops = append(s.ops, fmt.Sprintf("replace %d @%s", len(items), rv))
	return nil
}

func (s *sink) Resync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.lockedTakeFail("Resync"); err != nil {
		return err
	}
	s.resyncs = append(s.resyncs, time.Now())
	return nil
}

// snapshot returns the sink's objects in key order, its op log and its
// violations.
func (s *sink) snapshot() (objs []*Pod, ops, violations []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	objs = []*Pod{}
	for _, k := range slices.SortedFunc(maps.Keys(s.objs), compareKeys) {
		objs = append(objs, s.objs[k])
	}
	return objs, slices.Clone(s.ops), slices.Clone(s.violations)
}

func compareKeys(a, b controlloop.Key) int {
	if a.Namespace != b.Namespace {
		if a.Namespace < b.Namespace {
			return -1
		}
		return 1
	}
	switch {
	case a.Name < b.Name:
		return -1
	case a.Name > b.Name:
		return 1
	}
	return 0
}

// storeContents returns the store's objects that sel matches, in key order.
func storeContents(s *memstore.Store[*Pod], sel controlloop.Selector) []*Pod {
	out := []*Pod{}
	for _, p := range s.All() {
		if sel.Matches(p) {
			out = append(out, p)
		}
	}
	return out
}

// spy is a ListerWatcher over a memstore that records its calls and can
// stand in for Watch.
type spy struct {
	*memstore.Store[*Pod]

	mu      sync.Mutex // protects the fields below
	lists   []controlloop.ListOptions
	watches []watchCall
	// watch, if set, replaces the store's Watch.
	watch func(ctx context.Context, opts controlloop.WatchOptions) (<-chan controlloop.Event[*Pod], error)
	// afterList, if set, runs after each List call.
	afterList func(opts controlloop.ListOptions)
}

type watchCall struct {
	opts controlloop.WatchOptions
	at   time.Time
}

func newSpy(s *memstore.Store[*Pod]) *spy { return &spy{Store: s} }

func (s *spy) List(ctx context.Context, opts controlloop.ListOptions) (controlloop.ListResult[*Pod], error) {
	s.mu.Lock()
	s.lists = append(s.lists, opts)
	after := s.afterList
	s.mu.Unlock()
	res, err := s.Store.List(ctx, opts)
	if after != nil {
		after(opts)
	}
	return res, err
}

func (s *spy) Watch(ctx context.Context, opts controlloop.WatchOptions) (<-chan controlloop.Event[*Pod], error) {
	s.mu.Lock()
	s.watches = append(s.watches, watchCall{opts: opts, at: time.Now()})
	fn := s.watch
	s.mu.Unlock()
	if fn != nil {
		return fn(ctx, opts)
	}
	return s.Store.Watch(ctx, opts)
}

func (s *spy) setWatch(fn func(ctx context.Context, opts controlloop.WatchOptions) (<-chan controlloop.Event[*Pod], error)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.watch = fn
}

func (s *spy) calls() (lists []controlloop.ListOptions, watches []watchCall) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.lists), slices.Clone(s.watches)
}

// errs collects what the watch error handler sees.
type errs struct {
	mu   sync.Mutex
	list []error
}

func (e *errs) handle(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, err)
}

func (e *errs) reset() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = nil
}

func (e *errs) all() []error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.list)
}

// start runs r until the test ends, waits until it is idle (it must be
// called in a synctest bubble), and returns a function that stops it, waits
// for Run to return and fails the test unless Run returned nil.
func start(t *testing.T, r *reflector.Reflector[*Pod]) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run after its context ended = %v, want nil", err)
			}
		})
	}
	t.Cleanup(stop)
	synctest.Wait()
	return stop
}

func mustCreate(t testing.TB, s *memstore.Store[*Pod], p *Pod) *Pod {
	t.Helper()
	got, err := s.Create(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// must returns v, failing the test run if err is not nil.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
