package indexer

import (
	"fmt"

	"github.com/controlloop/controlloop"
)

// NamespaceIndex names the index every [Indexer] keeps: it maps a namespace
// to the objects in it ("" for objects outside any namespace).
const NamespaceIndex = "namespace"

// IndexFunc computes the values under which an object is indexed. Returning
// no values leaves the object out of the index. It must be a pure function
// of the object: the indexer calls it again on the stored object to remove
// it. An error is returned to the caller of the write that needed it, which
// then changes nothing.
type IndexFunc[T controlloop.Object] func(obj T) ([]string, error)

// Indexers names index functions.
type Indexers[T controlloop.Object] map[string]IndexFunc[T]

// defs is the immutable list of the indexes of one [state]; position 0 is
// the namespace index, computed from the key rather than by a function.
type defs[T controlloop.Object] struct {
	names []string
	funcs []IndexFunc[T] // funcs[0] is nil
	pos   map[string]int

	cells ops[controlloop.Key, *cell[T]]
	sets  ops[string, *valueSet[T]]
}

func newDefs[T controlloop.Object]() *defs[T] {
	return &defs[T]{
		names: []string{NamespaceIndex},
		funcs: []IndexFunc[T]{nil},
		pos:   map[string]int{NamespaceIndex: 0},
		cells: ops[controlloop.Key, *cell[T]]{key: cellKey[T], hash: hashKey},
		sets:  ops[string, *valueSet[T]]{key: setValue[T], hash: hashString},
	}
}

// with returns d extended by more, which the caller validated.
func (d *defs[T]) with(more Indexers[T]) *defs[T] {
	n := &defs[T]{
		names: append([]string(nil), d.names...),
		funcs: append([]IndexFunc[T](nil), d.funcs...),
		pos:   make(map[string]int, len(d.pos)+len(more)),
		cells: d.cells,
		sets:  d.sets,
	}
	for name, i := range d.pos {
		n.pos[name] = i
	}
	for name, f := range more {
		n.pos[name] = len(n.names)
		n.names = append(n.names, name)
		n.funcs = append(n.funcs, f)
	}
	return n
}

func (d *defs[T]) lookup(name string) (int, error) {
	i, ok := d.pos[name]
	if !ok {
		return 0, fmt.Errorf("%w %q", ErrUnknownIndex, name)
	}
	return i, nil
}

// values returns the distinct values of obj in custom index i (i > 0).
func (d *defs[T]) values(i int, obj T) ([]string, error) {
	vs, err := d.funcs[i](obj)
	if err != nil {
		return nil, fmt.Errorf("indexer: index %q of %v: %w", d.names[i], controlloop.KeyOf(obj), err)
	}
	return distinct(vs), nil
}

// allValues returns obj's values in each custom index (nil when there is
// none: the namespace index needs no call).
func (d *defs[T]) allValues(obj T) ([][]string, error) {
	if len(d.funcs) == 1 {
		return nil, nil
	}
	all := make([][]string, len(d.funcs))
	for i := 1; i < len(d.funcs); i++ {
		vs, err := d.values(i, obj)
		if err != nil {
			return nil, err
		}
		all[i] = vs
	}
	return all, nil
}

func distinct(vs []string) []string {
	for i := 1; i < len(vs); i++ {
		for j := range i {
			if vs[i] == vs[j] {
				out := append([]string(nil), vs[:i]...)
				for _, v := range vs[i+1:] {
					if !contains(out, v) {
						out = append(out, v)
					}
				}
				return out
			}
		}
	}
	return vs
}

func contains(vs []string, v string) bool {
	for _, w := range vs {
		if w == v {
			return true
		}
	}
	return false
}

// sameValues reports whether two lists of distinct values hold the same set.
func sameValues(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, v := range a {
		if !contains(b, v) {
			return false
		}
	}
	return true
}

// sameAll reports whether two results of allValues file an object under
// the same values of every custom index.
func sameAll(a, b [][]string) bool {
	for i := 1; i < len(a); i++ {
		if !sameValues(a[i], b[i]) {
			return false
		}
	}
	return true
}

// valueSet is the set of objects under one value of one index.
type valueSet[T controlloop.Object] struct {
	value string
	set   *node[*cell[T]]
	n     int
	edit  *editToken
}

func setValue[T controlloop.Object](vs *valueSet[T]) string { return vs.value }
