package memstore_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"testing"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/memstore"
	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

// modelChange is one write as the model records it.
type modelChange struct {
	rv   uint64
	typ  controlloop.EventType
	obj  *Pod // state after; for Deleted, the last state at the delete's version
	prev *Pod // state before; nil for Added
}

// storeModel is a rapid state machine (issue #3): a Store against a plain map and a
// log of every change.
type storeModel struct {
	s       *memstore.Store[*Pod]
	size    int // HistorySize
	objects map[controlloop.Key]*Pod
	log     []modelChange
	head    uint64
	floor   uint64 // compacted through

	// A paged list in progress across steps, with writes in between.
	paging    bool
	pageOpts  controlloop.ListOptions
	pageAt    uint64 // version of the first page
	pageWant  []*Pod // the model at that version
	pageSoFar []*Pod
}

var (
	drawNS    = rapid.SampledFrom([]string{"", "a", "b"})
	drawName  = rapid.SampledFrom([]string{"x", "y", "z"})
	drawLabel = rapid.SampledFrom([]string{"web", "db", ""})
)

var drawSelector = rapid.SampledFrom([]controlloop.Selector{
	{}, {Namespace: "a"}, {Labels: map[string]string{"app": "web"}},
	{Namespace: "b", Labels: map[string]string{"app": "db"}},
})

// filter returns the pods sel matches, in order.
func filter(pods []*Pod, sel controlloop.Selector) []*Pod {
	out := []*Pod{}
	for _, p := range pods {
		if sel.Matches(p) {
			out = append(out, p)
		}
	}
	return out
}

func drawKey(t *rapid.T) controlloop.Key {
	return controlloop.Key{Namespace: drawNS.Draw(t, "namespace"), Name: drawName.Draw(t, "name")}
}

func labelsFor(app string) map[string]string {
	if app == "" {
		return nil
	}
	return map[string]string{"app": app}
}

func (m *storeModel) record(typ controlloop.EventType, obj, prev *Pod) {
	m.head++
	m.log = append(m.log, modelChange{rv: m.head, typ: typ, obj: obj, prev: prev})
}

func (m *storeModel) oldestValid() uint64 {
	low := m.floor
	if m.head > uint64(m.size) {
		low = max(low, m.head-uint64(m.size))
	}
	return low
}

func (m *storeModel) Create(t *rapid.T) {
	key := drawKey(t)
	in := pod(key.Namespace, key.Name, labelsFor(drawLabel.Draw(t, "app")))
	in.Spec = rapid.StringMatching(`[a-z]{0,3}`).Draw(t, "spec")
	got, err := m.s.Create(context.Background(), in)
	if _, exists := m.objects[key]; exists {
		if !errors.Is(err, controlloop.ErrAlreadyExists) {
			t.Fatalf("Create of existing %v: %v, want ErrAlreadyExists", key, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("Create %v: %v", key, err)
	}
	want := in.DeepCopy()
	want.ResourceVersion = strconv.FormatUint(m.head+1, 10)
	want.Generation = 1
	want.UID = got.UID
	if diff := cmp.Diff(want, got); diff != "" || got.UID == "" {
		t.Fatalf("Create returned (-want +got):\n%s", diff)
	}
	m.objects[key] = got
	m.record(controlloop.Added, got, nil)
}

func (m *storeModel) Update(t *rapid.T) {
	m.update(t, rapid.Bool().Draw(t, "status"))
}

func (m *storeModel) update(t *rapid.T, status bool) {
	key := drawKey(t)
	stale := rapid.Bool().Draw(t, "stale")
	old, exists := m.objects[key]
	in := pod(key.Namespace, key.Name, labelsFor(drawLabel.Draw(t, "app")))
	in.Spec = rapid.StringMatching(`[a-z]{0,3}`).Draw(t, "spec")
	in.ResourceVersion = "1"
	if exists {
		in.ResourceVersion = old.ResourceVersion
	}
	if stale {
		in.ResourceVersion = "0" // never a stored version
	}
	write, gen := m.s.Update, int64(1)
	if status {
		write, gen = m.s.UpdateStatus, 0
	}
	got, err := write(context.Background(), in)
	switch {
	case !exists:
		if !errors.Is(err, controlloop.ErrNotFound) {
			t.Fatalf("update of missing %v: %v, want ErrNotFound", key, err)
		}
		return
	case stale:
		if !errors.Is(err, controlloop.ErrConflict) {
			t.Fatalf("stale update of %v: %v, want ErrConflict", key, err)
		}
		return
	case err != nil:
		t.Fatalf("update %v: %v", key, err)
	}
	want := in.DeepCopy()
	want.ResourceVersion = strconv.FormatUint(m.head+1, 10)
	want.Generation = old.Generation + gen
	want.UID = old.UID
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("update returned (-want +got):\n%s", diff)
	}
	m.objects[key] = got
	m.record(controlloop.Modified, got, old)
}

func (m *storeModel) Delete(t *rapid.T) {
	key := drawKey(t)
	old, exists := m.objects[key]
	var opts controlloop.DeleteOptions
	stale := false
	switch rapid.IntRange(0, 2).Draw(t, "precondition") {
	case 1:
		if exists {
			opts.ResourceVersion = old.ResourceVersion
		}
	case 2:
		opts.ResourceVersion, stale = "0", true
	}
	err := m.s.Delete(context.Background(), key, opts)
	switch {
	case !exists:
		if !errors.Is(err, controlloop.ErrNotFound) {
			t.Fatalf("Delete of missing %v: %v, want ErrNotFound", key, err)
		}
		return
	case stale:
		if !errors.Is(err, controlloop.ErrConflict) {
			t.Fatalf("Delete of %v at a stale version: %v, want ErrConflict", key, err)
		}
		return
	case err != nil:
		t.Fatalf("Delete %v: %v", key, err)
	}
	last := old.DeepCopy()
	last.ResourceVersion = strconv.FormatUint(m.head+1, 10)
	delete(m.objects, key)
	m.record(controlloop.Deleted, last, old)
}

func (m *storeModel) Compact(t *rapid.T) {
	rv := rapid.Uint64Range(0, m.head).Draw(t, "rv")
	if err := m.s.Compact(strconv.FormatUint(rv, 10)); err != nil {
		t.Fatalf("Compact(%d): %v", rv, err)
	}
	m.floor = max(m.floor, rv)
}

func (m *storeModel) ExpireHistory(_ *rapid.T) {
	m.s.ExpireHistory()
	m.floor = m.head
}

// expected returns the events a watch from rv under sel must deliver.
func (m *storeModel) expected(rv uint64, sel controlloop.Selector) []controlloop.Event[*Pod] {
	var out []controlloop.Event[*Pod]
	for _, c := range m.log {
		if c.rv <= rv {
			continue
		}
		now := c.typ != controlloop.Deleted && sel.Matches(c.obj)
		was := c.prev != nil && sel.Matches(c.prev)
		ev := controlloop.Event[*Pod]{ResourceVersion: strconv.FormatUint(c.rv, 10), Object: c.obj}
		switch {
		case c.typ == controlloop.Deleted && was:
			ev.Type = controlloop.Deleted
		case c.typ == controlloop.Deleted:
			continue
		case now && was:
			ev.Type = controlloop.Modified
		case now:
			ev.Type = controlloop.Added
		case was:
			ev.Type = controlloop.Deleted
			ev.Object = c.prev.DeepCopy()
			ev.Object.ResourceVersion = ev.ResourceVersion
		default:
			continue
		}
		out = append(out, ev)
	}
	return out
}

func (m *storeModel) sorted() []*Pod {
	want := slices.SortedFunc(maps.Values(m.objects), func(a, b *Pod) int {
		return compareKey(controlloop.KeyOf(a), controlloop.KeyOf(b))
	})
	if want == nil {
		want = []*Pod{}
	}
	return want
}

// ListPage reads one page of a paged list that other steps interleave
// writes with: all its pages must show the version of the first.
func (m *storeModel) ListPage(t *rapid.T) {
	if !m.paging {
		m.paging = true
		m.pageOpts = controlloop.ListOptions{
			Limit:    rapid.IntRange(1, 3).Draw(t, "page limit"),
			Selector: drawSelector.Draw(t, "page selector"),
		}
		m.pageAt, m.pageWant, m.pageSoFar = m.head, filter(m.sorted(), m.pageOpts.Selector), []*Pod{}
	}
	res, err := m.s.List(context.Background(), m.pageOpts)
	if errors.Is(err, controlloop.ErrExpired) && m.pageAt < m.oldestValid() {
		m.paging = false
		return
	}
	if err != nil {
		t.Fatalf("List page at %d (oldest valid %d): %v", m.pageAt, m.oldestValid(), err)
	}
	if res.ResourceVersion != strconv.FormatUint(m.pageAt, 10) {
		t.Fatalf("page at version %s, list began at %d", res.ResourceVersion, m.pageAt)
	}
	m.pageSoFar = append(m.pageSoFar, res.Items...)
	m.pageOpts.Continue = res.Continue
	if res.Continue != "" {
		return
	}
	m.paging = false
	if diff := cmp.Diff(m.pageWant, m.pageSoFar); diff != "" {
		t.Fatalf("pages of a list at version %d (-model +store):\n%s", m.pageAt, diff)
	}
}

func (m *storeModel) Check(t *rapid.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	want := m.sorted()
	version := strconv.FormatUint(m.head, 10)

	res, err := m.s.List(ctx, controlloop.ListOptions{})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if diff := cmp.Diff(want, res.Items); diff != "" || res.ResourceVersion != version {
		t.Fatalf("List at %s, want %s (-model +store):\n%s", res.ResourceVersion, version, diff)
	}

	limit := rapid.IntRange(1, 4).Draw(t, "limit")
	listSel := drawSelector.Draw(t, "list selector")
	paged := []*Pod{}
	opts := controlloop.ListOptions{Limit: limit, Selector: listSel}
	for {
		res, err := m.s.List(ctx, opts)
		if err != nil {
			t.Fatalf("List page: %v", err)
		}
		paged = append(paged, res.Items...)
		if res.Continue == "" {
			break
		}
		opts.Continue = res.Continue
	}
	if diff := cmp.Diff(filter(want, listSel), paged); diff != "" {
		t.Fatalf("paged List (limit %d, %+v) (-model +store):\n%s", limit, listSel, diff)
	}

	low := m.oldestValid()
	from := rapid.Uint64Range(low, m.head).Draw(t, "watch from")
	sel := drawSelector.Draw(t, "selector")
	ch, err := m.s.Watch(ctx, controlloop.WatchOptions{ResourceVersion: strconv.FormatUint(from, 10), Selector: sel})
	if err != nil {
		t.Fatalf("Watch from %d (oldest valid %d): %v", from, low, err)
	}
	wantEvents := m.expected(from, sel)
	got := collect(t, ch, len(wantEvents))
	if diff := cmp.Diff(wantEvents, got); diff != "" {
		t.Fatalf("watch from %d with %+v (-model +store):\n%s", from, sel, diff)
	}
	if low > 0 {
		if _, err := m.s.Watch(ctx, controlloop.WatchOptions{ResourceVersion: strconv.FormatUint(low-1, 10)}); !errors.Is(err, controlloop.ErrExpired) {
			t.Fatalf("Watch from %d, below the oldest valid %d: %v, want ErrExpired", low-1, low, err)
		}
	}
}

func compareKey(a, b controlloop.Key) int {
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

func TestStoreModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		size := rapid.IntRange(1, 40).Draw(t, "history size")
		m := &storeModel{
			// MaxWatchLag 1: the model keeps size changes, no more for the
			// watches it leaves open.
			s:       must(memstore.New[*Pod](memstore.Options{HistorySize: size, MaxWatchLag: 1})),
			size:    size,
			objects: make(map[controlloop.Key]*Pod),
		}
		t.Repeat(map[string]func(*rapid.T){
			"create":         m.Create,
			"update":         m.Update,
			"delete":         m.Delete,
			"compact":        m.Compact,
			"expire history": m.ExpireHistory,
			"list page":      m.ListPage,
			"":               m.Check,
		})
	})
}
