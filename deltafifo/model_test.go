package deltafifo_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"testing"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/deltafifo"
	"github.com/controlloop/controlloop/indexer"
	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

type delta = deltafifo.Delta[*obj]

var errFail = errors.New("process failed")

// qent is one queued key of the model. Keys that one step queues in an
// order the FIFO does not define (map or cache iteration order) share a
// group: the check compares each group as a set.
type qent struct {
	key   controlloop.Key
	group int
}

// inflight is a Pop whose process function waits for the test.
type inflight struct {
	deltas  deltas
	initial bool
	release chan bool // true: process succeeds
	done    chan error
}

// fifoMachine checks a FIFO against plain per-key delta lists, a queue
// order and a known-objects map that a simulated informer keeps up to date.
type fifoMachine struct {
	f        *deltafifo.FIFO[*obj]
	ix       *indexer.Indexer[*obj] // the real KnownObjects, or nil
	compress bool
	replaced bool

	deltas    map[controlloop.Key]deltas
	order     []qent
	groups    int
	known     map[controlloop.Key]*obj
	busy      map[controlloop.Key]*inflight
	populated bool
	initial   map[controlloop.Key]bool
	synced    bool
	vals      int
	relisted  bool // a Replace after the initial list's that no PopBatch has reported
}

var poolNames = []string{"a", "b", "c", "d", "e"}

func (m *fifoMachine) newObj(t *rapid.T) *obj {
	m.vals++
	return mk(rapid.SampledFrom(poolNames).Draw(t, "name"), m.vals)
}

func (m *fifoMachine) group() int { m.groups++; return m.groups }

func (m *fifoMachine) queued(k controlloop.Key) bool {
	return slices.ContainsFunc(m.order, func(e qent) bool { return e.key == k })
}

// appendModel is the dedup rule, written plainly.
func appendModel(ds deltas, d delta, compress bool) deltas {
	ds = slices.Clone(ds)
	n := len(ds)
	refresh := func(t deltafifo.DeltaType) bool { return t == deltafifo.Updated || t == deltafifo.Sync }
	switch {
	case n > 0 && ds[n-1].Type == deltafifo.Deleted && d.Type == deltafifo.Deleted:
		if ds[n-1].FinalStateUnknown {
			ds[n-1] = d
		}
	case n > 0 && compress && refresh(ds[n-1].Type) && refresh(d.Type):
		if ds[n-1].Type == deltafifo.Updated {
			d.Type = deltafifo.Updated
		}
		ds[n-1] = d
	default:
		ds = append(ds, d)
	}
	return ds
}

func (m *fifoMachine) queue(k controlloop.Key, d delta, group int) {
	m.deltas[k] = appendModel(m.deltas[k], d, m.compress)
	if !m.queued(k) && m.busy[k] == nil {
		m.order = append(m.order, qent{k, group})
	}
}

// knows is the FIFO's view of KnownObjects: a key being processed stands
// for what its popped deltas will leave.
func (m *fifoMachine) knows(k controlloop.Key) bool {
	if m.ix == nil {
		return false
	}
	if b := m.busy[k]; b != nil {
		return b.deltas.Newest().Type != deltafifo.Deleted
	}
	_, ok := m.known[k]
	return ok
}

func (m *fifoMachine) populate() {
	m.populated = true
	m.checkSynced()
}

func (m *fifoMachine) checkSynced() {
	if m.populated && len(m.initial) == 0 {
		m.synced = true
	}
}

func (m *fifoMachine) Add(t *rapid.T) {
	o := m.newObj(t)
	must(t, m.f.Add(o))
	m.populate()
	m.queue(controlloop.KeyOf(o), d(added, o), m.group())
}

func (m *fifoMachine) Update(t *rapid.T) {
	o := m.newObj(t)
	must(t, m.f.Update(o))
	m.populate()
	m.queue(controlloop.KeyOf(o), d(updated, o), m.group())
}

func (m *fifoMachine) Delete(t *rapid.T) {
	o := m.newObj(t)
	must(t, m.f.Delete(o))
	m.populate()
	k := controlloop.KeyOf(o)
	if len(m.deltas[k]) > 0 || m.knows(k) {
		m.queue(k, d(deleted, o), m.group())
	}
}

func (m *fifoMachine) Replace(t *rapid.T) {
	n := rapid.IntRange(0, 4).Draw(t, "n")
	list := make([]*obj, n)
	for i := range list {
		list[i] = m.newObj(t)
	}
	must(t, m.f.Replace(list, "rv"))
	first := !m.populated
	m.populated = true
	m.relisted = m.relisted || !first
	action := synced
	if m.replaced {
		action = replaced
	}
	touched := map[controlloop.Key]bool{}
	mark := func(k controlloop.Key) {
		touched[k] = true
		if first {
			m.initial[k] = true
		}
	}
	for _, o := range list {
		k := controlloop.KeyOf(o)
		m.queue(k, d(action, o), m.group())
		mark(k)
	}
	g := m.group()
	for _, name := range poolNames {
		k := key(name)
		if touched[k] {
			continue
		}
		switch {
		case len(m.deltas[k]) > 0:
			m.queue(k, tomb(m.deltas[k].Newest().Object), g)
		case m.busy[k] != nil && m.knows(k):
			m.queue(k, tomb(m.busy[k].deltas.Newest().Object), g)
		case m.busy[k] == nil && m.knows(k):
			m.queue(k, tomb(m.known[k]), g)
		default:
			continue
		}
		mark(k)
	}
	m.checkSynced()
}

func (m *fifoMachine) Resync(t *rapid.T) {
	must(t, m.f.Resync())
	if m.ix == nil {
		return
	}
	g := m.group()
	for _, name := range poolNames {
		k := key(name)
		if len(m.deltas[k]) > 0 || !m.knows(k) {
			continue
		}
		if b := m.busy[k]; b != nil {
			m.queue(k, d(synced, b.deltas.Newest().Object), g)
		} else {
			m.queue(k, d(synced, m.known[k]), g)
		}
	}
}

// apply is the simulated informer: it brings the known objects (model and
// real cache) up to date with popped deltas.
func (m *fifoMachine) apply(t *rapid.T, ds deltas, real bool) {
	for _, dl := range ds {
		k := controlloop.KeyOf(dl.Object)
		if dl.Type == deltafifo.Deleted {
			if real {
				must(t, m.ix.Delete(dl.Object))
			} else {
				delete(m.known, k)
			}
		} else {
			if real {
				must(t, m.ix.Update(dl.Object))
			} else {
				m.known[k] = dl.Object
			}
		}
	}
}

// take removes popped key k from the head group of the model's queue.
func (m *fifoMachine) take(t *rapid.T, k controlloop.Key) {
	if len(m.order) == 0 {
		t.Fatalf("popped %v from an empty model queue", k)
	}
	g := m.order[0].group
	i := slices.IndexFunc(m.order, func(e qent) bool { return e.key == k })
	if i < 0 || m.order[i].group != g {
		t.Fatalf("popped %v, model head is %v", k, m.order[0])
	}
	m.order = slices.Delete(m.order, i, i+1)
}

func (m *fifoMachine) checkPopped(t *rapid.T, got deltas, initial bool) controlloop.Key {
	if len(got) == 0 {
		t.Fatal("popped empty deltas")
	}
	k := controlloop.KeyOf(got[0].Object)
	m.take(t, k)
	if diff := cmp.Diff(m.deltas[k], got); diff != "" {
		t.Fatalf("popped %v (-want +got):\n%s", k, diff)
	}
	if initial != m.initial[k] {
		t.Fatalf("popped %v with inInitialList = %v, want %v", k, initial, m.initial[k])
	}
	delete(m.deltas, k)
	return k
}

// finish ends the processing of k in the model.
func (m *fifoMachine) finish(t *rapid.T, k controlloop.Key, ds deltas, ok bool) {
	if ok {
		m.apply(t, ds, false)
		delete(m.initial, k)
		m.checkSynced()
	} else {
		merged := ds
		for _, dl := range m.deltas[k] {
			merged = appendModel(merged, dl, m.compress)
		}
		m.deltas[k] = merged
	}
	if len(m.deltas[k]) > 0 {
		m.order = append(m.order, qent{k, m.group()})
	}
}

// Pop pops and processes one key at once.
func (m *fifoMachine) Pop(t *rapid.T) {
	if len(m.order) == 0 {
		t.Skip("nothing queued")
	}
	ok := rapid.Float64Range(0, 1).Draw(t, "succeeds") < 0.8
	var got deltas
	var initial bool
	err := m.f.Pop(context.Background(), func(ds deltas, in bool) error {
		got, initial = ds, in
		if !ok {
			return errFail
		}
		if m.ix != nil {
			m.apply(t, ds, true)
		}
		return nil
	})
	if ok != (err == nil) || (!ok && !errors.Is(err, errFail)) {
		t.Fatalf("Pop: err = %v, want failure %v", err, !ok)
	}
	k := m.checkPopped(t, got, initial)
	m.finish(t, k, got, ok)
}

// PopBatch pops up to max keys at once and processes them together.
func (m *fifoMachine) PopBatch(t *rapid.T) {
	if len(m.order) == 0 {
		t.Skip("nothing queued")
	}
	limit := rapid.IntRange(1, 4).Draw(t, "max")
	want := min(limit, len(m.order))
	ok := rapid.Float64Range(0, 1).Draw(t, "succeeds") < 0.8
	var got []deltafifo.Popped[*obj]
	var relisted bool
	err := m.f.PopBatch(context.Background(), limit, func(batch []deltafifo.Popped[*obj], _ string, r bool) error {
		got, relisted = slices.Clone(batch), r // the FIFO reuses batch
		if !ok {
			return errFail
		}
		if m.ix != nil {
			for _, p := range batch {
				m.apply(t, p.Deltas, true)
			}
		}
		return nil
	})
	if ok != (err == nil) || (!ok && !errors.Is(err, errFail)) {
		t.Fatalf("PopBatch: err = %v, want failure %v", err, !ok)
	}
	if len(got) != want {
		t.Fatalf("PopBatch(%d) handed out %d keys, want %d", limit, len(got), want)
	}
	all := want == len(m.order) // the batch takes every queued key
	if wantRelisted := all && m.relisted; relisted != wantRelisted {
		t.Fatalf("PopBatch(%d) of %d queued keys reported relisted %v, want %v", limit, len(m.order), relisted, wantRelisted)
	}
	if all && ok {
		m.relisted = false // a failed batch leaves the relist to report again
	}
	keys := make([]controlloop.Key, len(got))
	for i, p := range got {
		keys[i] = m.checkPopped(t, p.Deltas, p.InInitialList)
	}
	for i, p := range got {
		m.finish(t, keys[i], p.Deltas, ok)
	}
}

// BeginPop pops a key whose process function waits for EndPop.
func (m *fifoMachine) BeginPop(t *rapid.T) {
	if len(m.order) == 0 || len(m.busy) >= 2 {
		t.Skip("nothing queued, or enough in flight")
	}
	type popped struct {
		ds      deltas
		initial bool
	}
	got := make(chan popped)
	b := &inflight{release: make(chan bool), done: make(chan error, 1)}
	go func() {
		b.done <- m.f.Pop(context.Background(), func(ds deltas, in bool) error {
			got <- popped{ds, in}
			if !<-b.release {
				return errFail
			}
			if m.ix != nil {
				for _, dl := range ds {
					if dl.Type == deltafifo.Deleted {
						_ = m.ix.Delete(dl.Object)
					} else {
						_ = m.ix.Update(dl.Object)
					}
				}
			}
			return nil
		})
	}()
	p := <-got
	k := m.checkPopped(t, p.ds, p.initial)
	b.deltas, b.initial = p.ds, p.initial
	m.busy[k] = b
}

// EndPop lets one waiting process function return.
func (m *fifoMachine) EndPop(t *rapid.T) {
	if len(m.busy) == 0 {
		t.Skip("nothing in flight")
	}
	k := rapid.SampledFrom(slices.SortedFunc(maps.Keys(m.busy), func(a, b controlloop.Key) int {
		return cmpKeys(a, b)
	})).Draw(t, "key")
	ok := rapid.Bool().Draw(t, "succeeds")
	b := m.busy[k]
	b.release <- ok
	if err := <-b.done; ok != (err == nil) {
		t.Fatalf("Pop: err = %v, want failure %v", err, !ok)
	}
	delete(m.busy, k)
	m.finish(t, k, b.deltas, ok)
}

func cmpKeys(a, b controlloop.Key) int {
	switch {
	case a.String() < b.String():
		return -1
	case a.String() > b.String():
		return 1
	}
	return 0
}

// release ends every process function still waiting.
func (m *fifoMachine) release() {
	for k, b := range m.busy {
		b.release <- false
		<-b.done
		delete(m.busy, k)
	}
}

func (m *fifoMachine) Check(t *rapid.T) {
	if got := m.f.Len(); got != len(m.order) {
		t.Fatalf("Len = %d, model %d (%v)", got, len(m.order), m.order)
	}
	real := m.f.QueuedKeys()
	for i := 0; i < len(m.order); {
		j := i
		for j < len(m.order) && m.order[j].group == m.order[i].group {
			j++
		}
		var want, got []string
		for _, e := range m.order[i:j] {
			want = append(want, e.key.String())
		}
		for _, k := range real[i:j] {
			got = append(got, k.String())
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(want, got) {
			t.Fatalf("queue %v, model %v", real, m.order)
		}
		i = j
	}
	for _, name := range poolNames {
		k := key(name)
		if diff := cmp.Diff(m.deltas[k], m.f.Queued(k)); diff != "" {
			t.Fatalf("deltas of %v (-model +fifo):\n%s", k, diff)
		}
	}
	if got := m.f.HasSynced(); got != m.synced {
		t.Fatalf("HasSynced = %v, model %v", got, m.synced)
	}
	if m.ix != nil && len(m.busy) == 0 {
		if diff := cmp.Diff(m.known, maps.Collect(m.ix.All())); diff != "" {
			t.Fatalf("known objects (-model +cache):\n%s", diff)
		}
	}
}

func TestFIFOModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := &fifoMachine{
			compress: rapid.Bool().Draw(t, "compress"),
			replaced: rapid.Bool().Draw(t, "emitReplaced"),
			deltas:   map[controlloop.Key]deltas{},
			known:    map[controlloop.Key]*obj{},
			busy:     map[controlloop.Key]*inflight{},
			initial:  map[controlloop.Key]bool{},
		}
		opts := deltafifo.Options[*obj]{CompressUpdates: m.compress, EmitReplaced: m.replaced}
		if rapid.Bool().Draw(t, "knownObjects") {
			m.ix, _ = indexer.New(indexer.Options[*obj]{})
			opts.KnownObjects = m.ix
			if rapid.Bool().Draw(t, "hideLen") {
				opts.KnownObjects = withoutLen{m.ix}
			}
		}
		m.f = newFIFO(t, opts)
		defer m.release()
		t.Repeat(rapid.StateMachineActions(m))
	})
}

var _ = fmt.Sprint

// withoutLen hides the indexer's Len, so that Replace walks KnownObjects.
type withoutLen struct{ ix *indexer.Indexer[*obj] }

func (w withoutLen) Get(k controlloop.Key) (*obj, bool) { return w.ix.Get(k) }

func (w withoutLen) All() iter.Seq2[controlloop.Key, *obj] { return w.ix.All() }
