package informer_test

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/memstore"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type Pod struct {
	controlloop.ObjectMeta
	Phase string
}

func (p *Pod) DeepCopy() *Pod {
	c := *p
	c.Labels = maps.Clone(p.Labels)
	c.OwnerReferences = slices.Clone(p.OwnerReferences)
	return &c
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func pod(ns, name string) *Pod {
	return &Pod{ObjectMeta: controlloop.ObjectMeta{Namespace: ns, Name: name}}
}

func newStore(t testing.TB) *memstore.Store[*Pod] {
	t.Helper()
	s, err := memstore.New[*Pod](memstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newInformer(t testing.TB, lw controlloop.ListerWatcher[*Pod], opts informer.Options[*Pod]) *informer.Informer[*Pod] {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	if opts.Reflector.Logger == nil {
		opts.Reflector.Logger = quiet
	}
	inf, err := informer.New(lw, opts)
	if err != nil {
		t.Fatal(err)
	}
	return inf
}

// start runs inf and returns a function that stops it and waits.
func start(inf interface{ Run(context.Context) error }) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = inf.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}

// event is one notification as a recorder saw it.
type event struct {
	Kind    string // add, update, delete
	Key     string
	RV      string // of the new (or only) object
	OldRV   string
	Initial bool // add: in initial list
	Unknown bool // delete: final state unknown
}

// recorder is a Handler that records every notification.
type recorder struct {
	mu     sync.Mutex
	events []event
}

func (r *recorder) OnAdd(obj *Pod, initial bool) {
	r.record(event{Kind: "add", Key: controlloop.KeyOf(obj).String(), RV: obj.ResourceVersion, Initial: initial})
}

func (r *recorder) OnUpdate(old, new *Pod) {
	r.record(event{Kind: "update", Key: controlloop.KeyOf(new).String(), RV: new.ResourceVersion, OldRV: old.ResourceVersion})
}

func (r *recorder) OnDelete(obj *Pod, unknown bool) {
	r.record(event{Kind: "delete", Key: controlloop.KeyOf(obj).String(), RV: obj.ResourceVersion, Unknown: unknown})
}

func (r *recorder) record(e event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) all() []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// replay applies the recorded events to a map of key -> resource version.
func (r *recorder) replay() map[string]string {
	state := map[string]string{}
	for _, e := range r.all() {
		if e.Kind == "delete" {
			delete(state, e.Key)
		} else {
			state[e.Key] = e.RV
		}
	}
	return state
}

func storeState(s *memstore.Store[*Pod]) map[string]string {
	state := map[string]string{}
	for k, p := range s.All() {
		state[k.String()] = p.ResourceVersion
	}
	return state
}

func cacheState(inf *informer.Informer[*Pod]) map[string]string {
	state := map[string]string{}
	for _, p := range inf.Reader().List(controlloop.Selector{}) {
		state[controlloop.KeyOf(p).String()] = p.ResourceVersion
	}
	return state
}

func itoa(i int) string { return strconv.Itoa(i) }

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
