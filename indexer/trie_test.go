package indexer

import (
	"maps"
	"testing"

	"pgregory.net/rapid"
)

type kv struct{ k, v int }

// trieMachine checks the persistent trie against a map, with hashes weak
// enough to force deep paths and collision lists, and checks that every
// earlier version still holds what it held.
type trieMachine struct {
	o        ops[int, *kv]
	root     *node[*kv]
	model    map[int]int
	versions []*node[*kv]
	models   []map[int]int
	tok      *editToken // a bulk build in progress, or nil
}

func (m *trieMachine) Set(t *rapid.T) {
	k := rapid.IntRange(0, 40).Draw(t, "k")
	v := rapid.Int().Draw(t, "v")
	_, had := m.model[k]
	var replaced bool
	m.root, replaced = set(&m.o, m.root, m.tok, m.o.hash(k), k, &kv{k, v})
	if replaced != had {
		t.Fatalf("set(%d): replaced = %v, want %v", k, replaced, had)
	}
	m.model[k] = v
	m.publish()
}

func (m *trieMachine) Delete(t *rapid.T) {
	k := rapid.IntRange(0, 40).Draw(t, "k")
	_, had := m.model[k]
	var removed bool
	m.root, removed = del(&m.o, m.root, m.tok, m.o.hash(k), k)
	if removed != had {
		t.Fatalf("del(%d): removed = %v, want %v", k, removed, had)
	}
	delete(m.model, k)
	m.publish()
}

func (m *trieMachine) Bulk(t *rapid.T) {
	if m.tok == nil {
		m.tok = new(editToken)
	} else {
		m.tok = nil
	}
	m.publish()
}

// publish records a version, unless a bulk build is in progress (its nodes
// are not immutable yet).
func (m *trieMachine) publish() {
	if m.tok == nil {
		m.versions = append(m.versions, m.root)
		m.models = append(m.models, maps.Clone(m.model))
	}
}

func check(t *rapid.T, o *ops[int, *kv], root *node[*kv], model map[int]int) {
	n := 0
	walk(root, func(e *kv) bool {
		n++
		if v, ok := model[e.k]; !ok || v != e.v {
			t.Fatalf("walk yields %d=%d, model has %d, %v", e.k, e.v, v, ok)
		}
		return true
	})
	if n != len(model) {
		t.Fatalf("walk yields %d entries, want %d", n, len(model))
	}
	for k := range 41 {
		e, ok := get(o, root, o.hash(k), k)
		v, wok := model[k]
		if ok != wok || (ok && e.v != v) {
			t.Fatalf("get(%d) = %v, %v; want %d, %v", k, e, ok, v, wok)
		}
	}
	if len(model) == 0 && root != nil {
		t.Fatalf("empty trie has a root")
	}
	canonical(t, root, 0, true)
}

// canonical checks the shape: no sub-node that should have folded.
func canonical(t *rapid.T, n *node[*kv], shift uint, isRoot bool) {
	if n == nil {
		return
	}
	if !isRoot && n.nodemap == 0 && len(n.data) < 2 {
		t.Fatalf("sub-node at shift %d with %d entries and no children", shift, len(n.data))
	}
	for _, c := range n.nodes {
		canonical(t, c, shift+fanBits, false)
	}
}

func (m *trieMachine) Check(t *rapid.T) {
	check(t, &m.o, m.root, m.model)
	for i, v := range m.versions {
		check(t, &m.o, v, m.models[i])
	}
}

func TestTrieModel(t *testing.T) {
	hashes := map[string]func(int) uint64{
		"spread":    func(k int) uint64 { return uint64(k) * 0x9e3779b97f4a7c15 },
		"collide":   func(k int) uint64 { return uint64(k % 3) },      // full collisions
		"deep":      func(k int) uint64 { return uint64(k%5) << 58 },  // long shared prefixes
		"identical": func(k int) uint64 { return 0xdeadbeefcafe0000 }, // one collision list
	}
	for name, h := range hashes {
		t.Run(name, func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				m := &trieMachine{
					o:     ops[int, *kv]{key: func(e *kv) int { return e.k }, hash: h},
					model: map[int]int{},
				}
				t.Repeat(rapid.StateMachineActions(m))
			})
		})
	}
}
