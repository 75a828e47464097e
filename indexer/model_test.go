package indexer

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/controlloop/controlloop"
	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

// indexerMachine checks an Indexer against a plain map, with every index
// computed by brute force after every step.
type indexerMachine struct {
	held  []held // walks started earlier, to check isolation
	ix    *Indexer[*thing]
	model map[controlloop.Key]*thing
	funcs map[string]func(*thing) ([]string, error)
}

var (
	namespaces = []string{"", "a", "b"}
	names      = []string{"x", "y", "z", "w"}
	tags       = []string{"red", "green", "blue"}
)

func drawThing(t *rapid.T, label string) *thing {
	o := mk(rapid.SampledFrom(namespaces).Draw(t, label+".ns"), rapid.SampledFrom(names).Draw(t, label+".name"))
	o.Tags = rapid.SliceOfN(rapid.SampledFrom(tags), 0, 3).Draw(t, label+".tags")
	if app := rapid.SampledFrom([]string{"", "web", "db"}).Draw(t, label+".app"); app != "" {
		o.Labels = map[string]string{"app": app}
	}
	o.Bad = rapid.Float64Range(0, 1).Draw(t, label+".bad") < 0.05
	return o
}

func (m *indexerMachine) Put(t *rapid.T) {
	o := drawThing(t, "obj")
	var err error
	if rapid.Bool().Draw(t, "viaAdd") {
		err = m.ix.Add(o)
	} else {
		err = m.ix.Update(o)
	}
	if o.Bad {
		if !errors.Is(err, errBad) {
			t.Fatalf("put of a bad object: err = %v, want errBad", err)
		}
		return
	}
	if err != nil {
		t.Fatalf("put: %v", err)
	}
	m.model[controlloop.KeyOf(o)] = o
}

func (m *indexerMachine) Delete(t *rapid.T) {
	o := drawThing(t, "obj")
	o.Bad = false
	err := m.ix.Delete(o)
	if err != nil {
		t.Fatalf("delete: %v", err)
	}
	delete(m.model, controlloop.KeyOf(o))
}

func (m *indexerMachine) Replace(t *rapid.T) {
	n := rapid.IntRange(0, 8).Draw(t, "n")
	items := make([]*thing, n)
	bad := false
	for i := range items {
		items[i] = drawThing(t, "item")
		bad = bad || items[i].Bad
	}
	err := m.ix.Replace(items, "rv")
	if bad {
		if !errors.Is(err, errBad) {
			t.Fatalf("replace with a bad object: err = %v", err)
		}
		return
	}
	if err != nil {
		t.Fatalf("replace: %v", err)
	}
	clear(m.model)
	for _, o := range items {
		m.model[controlloop.KeyOf(o)] = o
	}
}

// held is a ByIndex taken at some step, with the keys it must yield
// however the indexer changed since.
type held struct {
	seq  func(yield func(controlloop.Key, *thing) bool)
	want []string
}

// Hold takes a namespace walk to replay at every later check.
func (m *indexerMachine) Hold(t *rapid.T) {
	ns := rapid.SampledFrom(namespaces).Draw(t, "ns")
	seq, err := m.ix.ByIndex(NamespaceIndex, ns)
	if err != nil {
		t.Fatal(err)
	}
	var want []*thing
	for _, o := range m.model {
		if o.Namespace == ns {
			want = append(want, o)
		}
	}
	m.held = append(m.held, held{seq, keysOf(want)})
}

// Batch makes several writes in one Txn: each returns the object it
// replaced or removed, the Txn reads its own writes, and readers see none
// of the keys it adds or removes until Write returns.
func (m *indexerMachine) Batch(t *rapid.T) {
	n := rapid.IntRange(2, 12).Draw(t, "batch")
	before := len(m.model)
	m.ix.Write(func(tx *Txn[*thing]) {
		for range n {
			o := drawThing(t, "obj")
			k := controlloop.KeyOf(o)
			want, had := m.model[k]
			var got *thing
			var ok bool
			var err error
			if rapid.Float64Range(0, 1).Draw(t, "op") < 0.7 {
				got, ok, err = tx.Put(o)
				if o.Bad {
					if !errors.Is(err, errBad) {
						t.Fatalf("Txn.Put of a bad object: err = %v, want errBad", err)
					}
				} else if err != nil {
					t.Fatalf("Txn.Put: %v", err)
				} else {
					m.model[k] = o
				}
			} else {
				o.Bad = false
				if got, ok, err = tx.Delete(o); err != nil {
					t.Fatalf("Txn.Delete: %v", err)
				}
				delete(m.model, k)
			}
			if ok != had || got != want {
				t.Fatalf("write of %v in a Txn returned %v, %v; want the previous object %v, %v", k, got, ok, want, had)
			}
			if cur, ok := tx.Get(k); cur != m.model[k] || ok != (m.model[k] != nil) {
				t.Fatalf("Txn.Get(%v) = %v, %v after its own write; want %v", k, cur, ok, m.model[k])
			}
			if l := m.ix.Len(); l != before {
				t.Fatalf("Len = %d in the middle of a Txn, want %d (the published content)", l, before)
			}
		}
	})
}

func (m *indexerMachine) Get(t *rapid.T) {
	k := controlloop.Key{Namespace: rapid.SampledFrom(namespaces).Draw(t, "ns"), Name: rapid.SampledFrom(names).Draw(t, "name")}
	got, ok := m.ix.Get(k)
	want, wok := m.model[k]
	if ok != wok || got != want {
		t.Fatalf("Get(%v) = %v, %v; want %v, %v", k, got, ok, want, wok)
	}
}

func keysOf(objs []*thing) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = controlloop.KeyOf(o).String()
	}
	slices.Sort(out)
	return out
}

func seqKeys(t *rapid.T, ix *Indexer[*thing], name, value string) []string {
	seq, err := ix.ByIndex(name, value)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for k, o := range seq {
		if k != controlloop.KeyOf(o) {
			t.Fatalf("ByIndex yields key %v with object %v", k, controlloop.KeyOf(o))
		}
		out = append(out, k.String())
	}
	slices.Sort(out)
	return out
}

func (m *indexerMachine) Check(t *rapid.T) {
	for _, h := range m.held {
		var got []string
		for k := range h.seq {
			got = append(got, k.String())
		}
		slices.Sort(got)
		if !slices.Equal(got, h.want) {
			t.Fatalf("a held walk yields %v, want %v as when it was taken", got, h.want)
		}
	}
	var want []*thing
	for _, o := range m.model {
		want = append(want, o)
	}
	if got := keysOf(slices.Collect(m.ix.List())); !slices.Equal(got, keysOf(want)) {
		t.Fatalf("List keys = %v, want %v", got, keysOf(want))
	}
	if m.ix.Len() != len(m.model) {
		t.Fatalf("Len = %d, want %d", m.ix.Len(), len(m.model))
	}
	var keys []string
	for k := range m.ix.Keys() {
		keys = append(keys, k.String())
	}
	slices.Sort(keys)
	if !slices.Equal(keys, keysOf(want)) {
		t.Fatalf("Keys = %v, want %v", keys, keysOf(want))
	}
	for k, o := range m.ix.All() {
		if m.model[k] != o {
			t.Fatalf("All yields %v -> %p, want %p", k, o, m.model[k])
		}
	}
	for name, f := range m.funcs {
		// Brute force: value -> keys.
		brute := map[string][]*thing{}
		for _, o := range m.model {
			vs, _ := f(o)
			for _, v := range distinct(vs) {
				brute[v] = append(brute[v], o)
			}
		}
		seq, err := m.ix.ListIndexValues(name)
		if err != nil {
			t.Fatal(err)
		}
		values := slices.Sorted(seq)
		var wantValues []string
		for v := range brute {
			wantValues = append(wantValues, v)
		}
		slices.Sort(wantValues)
		if diff := cmp.Diff(wantValues, values); diff != "" {
			t.Fatalf("ListIndexValues(%q) (-want +got):\n%s", name, diff)
		}
		for _, v := range append(wantValues, "absent") {
			got, err := byIndex(m.ix, name, v)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(keysOf(brute[v]), keysOf(got)); diff != "" {
				t.Fatalf("ByIndex(%q, %q) (-want +got):\n%s", name, v, diff)
			}
			for _, o := range got {
				if m.model[controlloop.KeyOf(o)] != o {
					t.Fatalf("ByIndex(%q, %q) returns a stale %v", name, v, controlloop.KeyOf(o))
				}
			}
			ks, err := m.ix.IndexKeys(name, v)
			if err != nil {
				t.Fatal(err)
			}
			var kss []string
			for k := range ks {
				kss = append(kss, k.String())
			}
			slices.Sort(kss)
			if !slices.Equal(kss, keysOf(brute[v])) {
				t.Fatalf("IndexKeys(%q, %q) = %v, want %v", name, v, kss, keysOf(brute[v]))
			}
			if got := seqKeys(t, m.ix, name, v); !slices.Equal(got, keysOf(brute[v])) {
				t.Fatalf("ByIndex(%q, %q) = %v, want %v", name, v, got, keysOf(brute[v]))
			}
		}
	}
	if _, err := byIndex(m.ix, "nope", ""); !errors.Is(err, ErrUnknownIndex) {
		t.Fatalf("ByIndex of an unknown index: err = %v", err)
	}
}

func TestIndexerModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ix, err := New(Options[*thing]{Indexers: Indexers[*thing]{"tag": tagIndex, "app": appIndex}})
		if err != nil {
			t.Fatal(err)
		}
		m := &indexerMachine{
			ix:    ix,
			model: map[controlloop.Key]*thing{},
			funcs: map[string]func(*thing) ([]string, error){
				"tag": tagIndex,
				"app": appIndex,
				NamespaceIndex: func(o *thing) ([]string, error) {
					return []string{o.Namespace}, nil
				},
			},
		}
		t.Repeat(rapid.StateMachineActions(m))
	})
}

var _ = strings.Cut
