package inspect

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/reconcile"
	"github.com/controlloop/controlloop/workqueue"
)

// DefaultMaxKeys is the default of Options.MaxKeys.
const DefaultMaxKeys = 500

// Options configure a [Handler]. The zero value is valid.
type Options struct {
	// MaxKeys bounds the keys listed per controller in one answer; the
	// rest are counted in Queue and marked by Truncated. Defaults to
	// [DefaultMaxKeys].
	MaxKeys int
}

// Handler is the read-only http.Handler that serves the state of the
// controllers and caches added to it: the page at its root, the JSON
// document ([State]) at api/v1/state. Create it with [New], add what it
// shows with [AddController] and [AddInformer], and mount it under a path
// that ends in a slash (the page fetches the document relative to
// itself):
//
//	mux.Handle("/debug/controlloop/", http.StripPrefix("/debug/controlloop", h))
//
// Its methods are safe for concurrent use; it answers only GET and HEAD.
type Handler struct {
	maxKeys int

	mu          sync.Mutex // protects the fields below
	controllers []controllerView
	caches      []func() Cache
}

// controllerView reads one controller, whatever its request type.
type controllerView struct {
	name string
	read func(f Filter, maxKeys int) Controller
}

// New returns a handler that shows nothing until controllers and caches
// are added. A negative Options.MaxKeys is refused with an error wrapping
// [controlloop.ErrInvalid].
func New(opts Options) (*Handler, error) {
	if opts.MaxKeys < 0 {
		return nil, fmt.Errorf("inspect: Options.MaxKeys is %d: must not be negative: %w", opts.MaxKeys, controlloop.ErrInvalid)
	}
	if opts.MaxKeys == 0 {
		opts.MaxKeys = DefaultMaxKeys
	}
	return &Handler{maxKeys: opts.MaxKeys}, nil
}

// AddController makes h show c. A nil h or c is refused with an error
// wrapping [controlloop.ErrInvalid].
func AddController[R comparable](h *Handler, c *reconcile.Controller[R]) error {
	if h == nil || c == nil {
		return fmt.Errorf("inspect: AddController: nil Handler or Controller: %w", controlloop.ErrInvalid)
	}
	h.mu.Lock()
	h.controllers = append(h.controllers, controllerView{name: c.Name(), read: func(f Filter, maxKeys int) Controller {
		return readController(c, f, maxKeys)
	}})
	h.mu.Unlock()
	return nil
}

// AddInformer makes h show inf's cache: its name, sync, health and size.
// A nil h or inf is refused with an error wrapping [controlloop.ErrInvalid].
func AddInformer[T controlloop.Object](h *Handler, inf *informer.Informer[T]) error {
	if h == nil || inf == nil {
		return fmt.Errorf("inspect: AddInformer: nil Handler or Informer: %w", controlloop.ErrInvalid)
	}
	h.mu.Lock()
	h.caches = append(h.caches, func() Cache {
		health := inf.Health()
		return Cache{Name: inf.Name(), Synced: health.Synced, Healthy: health.Err == nil, Objects: inf.Reader().Len()}
	})
	h.mu.Unlock()
	return nil
}

// Filter selects the keys of a [State]. The zero Filter selects all.
type Filter struct {
	Controller string // only this controller ("": all)
	State      string // only keys in this state: "queued", "waiting", "processing", "idle" ("": all)
	Errors     bool   // only keys whose last reconcile failed
	Namespace  string // only keys in this namespace ("": all)
}

var states = []string{"queued", "waiting", "processing", "idle"}

// ParseFilter reads a Filter from a query: controller, state, error
// ("true" or "1") and namespace. An unknown state or error value is
// refused with an error wrapping [controlloop.ErrInvalid].
func ParseFilter(q map[string][]string) (Filter, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	f := Filter{Controller: get("controller"), State: get("state"), Namespace: get("namespace")}
	if f.State != "" && !slices.Contains(states, f.State) {
		return Filter{}, fmt.Errorf("inspect: state is %q: must be one of %s: %w", f.State, strings.Join(states, ", "), controlloop.ErrInvalid)
	}
	switch e := get("error"); e {
	case "", "false", "0":
	case "true", "1":
		f.Errors = true
	default:
		return Filter{}, fmt.Errorf("inspect: error is %q: must be true, 1, false, 0 or empty: %w", e, controlloop.ErrInvalid)
	}
	return f, nil
}

// State returns the state of everything added to h, the keys as f selects
// them. Each controller's queue is read in one snapshot (see
// [workqueue.Queue.Snapshot]); controllers and caches are read one after
// the other.
func (h *Handler) State(f Filter) State {
	h.mu.Lock()
	controllers := slices.Clone(h.controllers)
	caches := slices.Clone(h.caches)
	h.mu.Unlock()
	s := State{SchemaVersion: SchemaVersion, Time: time.Now().UTC(), Controllers: []Controller{}, Caches: []Cache{}}
	for _, c := range controllers {
		if f.Controller == "" || f.Controller == c.name {
			s.Controllers = append(s.Controllers, c.read(f, h.maxKeys))
		}
	}
	for _, c := range caches {
		s.Caches = append(s.Caches, c())
	}
	return s
}

// ServeHTTP serves the page at the root and the JSON at api/v1/state.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "inspect: read-only: only GET and HEAD", http.StatusMethodNotAllowed)
		return
	}
	switch strings.TrimPrefix(r.URL.Path, "/") {
	case "", "index.html":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'")
		_, _ = w.Write(page)
	case "api/v1/state":
		f, err := ParseFilter(r.URL.Query())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		enc := json.NewEncoder(w)
		enc.SetIndent("", " ")
		_ = enc.Encode(h.State(f))
	default:
		http.NotFound(w, r)
	}
}

// readController reads c's queue and key states into one Controller.
func readController[R comparable](c *reconcile.Controller[R], f Filter, maxKeys int) Controller {
	out := Controller{Name: c.Name(), Introspect: c.Introspecting(), Bindings: []Binding{}, Keys: []Key{}}
	for _, b := range c.Bindings() {
		out.Bindings = append(out.Bindings, Binding{
			Informer: b.Informer, CacheSynced: b.CacheSynced, Synced: b.Synced(),
			Delivered: b.Delivered, Total: b.Total, TotalKnown: b.TotalKnown, Pending: b.Pending,
		})
	}
	items := c.Queue().Snapshot()
	last := map[R]*Reconcile{}
	states := c.KeyStates()
	for _, s := range states {
		last[s.Request] = reconcileOf(s)
	}
	add := func(k Key) {
		if !f.matches(k) {
			return
		}
		if len(out.Keys) >= maxKeys {
			out.Truncated = true
			return
		}
		out.Keys = append(out.Keys, k)
	}
	inQueue := make(map[R]bool, len(items))
	for _, it := range items {
		inQueue[it.Item] = true
		switch it.State {
		case workqueue.Queued:
			out.Queue.Queued++
		case workqueue.Waiting:
			out.Queue.Waiting++
		case workqueue.Processing:
			out.Queue.Processing++
		}
		k := keyOf(it.Item)
		k.State, k.Priority, k.Requeued, k.Retries = it.State.String(), it.Priority, it.Requeued, it.Requeues
		k.ReadyAt, k.Since = timeOrNil(it.ReadyAt), timeOrNil(it.Since)
		k.Last = last[it.Item]
		add(k)
	}
	for _, s := range states {
		if inQueue[s.Request] {
			continue
		}
		k := keyOf(s.Request)
		k.State, k.Retries, k.Last = "idle", s.Retries, last[s.Request]
		add(k)
	}
	return out
}

func (f Filter) matches(k Key) bool {
	switch {
	case f.State != "" && k.State != f.State:
		return false
	case f.Namespace != "" && k.Namespace != f.Namespace:
		return false
	case f.Errors && (k.Last == nil || k.Last.Outcome != reconcile.OutcomeError.String()):
		return false
	}
	return true
}

func keyOf[R comparable](req R) Key {
	k := Key{Key: fmt.Sprint(req)}
	if key, ok := any(req).(controlloop.Key); ok {
		k.Namespace = key.Namespace
	}
	return k
}

func reconcileOf[R comparable](s reconcile.KeyState[R]) *Reconcile {
	return &Reconcile{
		ReconcileID: s.ReconcileID, Reason: s.Reason.String(), ReasonLabel: s.Reason.Label(),
		Outcome: s.Outcome.String(), Terminal: s.Terminal, Error: s.Error,
		Started: s.Started.UTC(), Seconds: s.Duration.Seconds(), Reconciles: s.Reconciles,
	}
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}
