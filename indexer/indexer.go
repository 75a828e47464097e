package indexer

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/controlloop/controlloop"
)

// Indexer is a thread-safe cache of objects by key, with secondary indexes.
//
// The zero Indexer is empty, keeps only [NamespaceIndex] and is ready to use;
// [New] adds indexes. An Indexer must not be copied after first use.
//
// Writes are serialised, and each write (or [Indexer.Write] batch)
// publishes the new content when it ends. Reads take no lock: they load the
// published content, so a reader never waits for a writer, however long
// the write (see the package documentation). Objects handed in and out are
// shared: neither the caller nor the indexer may modify them.
type Indexer[T controlloop.Object] struct {
	mu  sync.Mutex               // serialises writers; never taken by a reader
	txn Txn[T]                   // the write in progress; guarded by mu
	cur atomic.Pointer[state[T]] // the published state; written only under mu
}

// state is one version of the whole cache. It is immutable once published,
// except for the object held in each cell (see cell). A Txn's draft (a
// state not yet published) is changed in place through its edit token.
type state[T controlloop.Object] struct {
	items *node[*cell[T]]
	n     int
	defs  *defs[T]
	idx   []*node[*valueSet[T]] // for each index of defs: value -> objects
	tok   *editToken            // a draft's token; nil once published
}

// cell holds the current object of one key. An Update that changes no index
// value stores the new object into the existing cell, which every state
// shares; any other change gives the key a new cell, so that an older state
// keeps the object that matches its indexes.
//
// The object is held in an atomic.Value as a box: a struct of one pointer,
// when T is a pointer, is stored in an interface without an allocation, so
// a new cell is one allocation and an in-place update none, and a read
// reaches the object without a further indirection.
type cell[T any] struct {
	key controlloop.Key // so that walks and lookups need not load the object
	v   atomic.Value    // always a box[T]
}

type box[T any] struct{ obj T }

func newCell[T any](k controlloop.Key, v T) *cell[T] {
	c := &cell[T]{key: k}
	c.v.Store(box[T]{v})
	return c
}

func (c *cell[T]) load() T   { return c.v.Load().(box[T]).obj }
func (c *cell[T]) store(v T) { c.v.Store(box[T]{v}) }

func cellKey[T controlloop.Object](c *cell[T]) controlloop.Key { return c.key }

// New returns an empty Indexer with the namespace index and opts.Indexers.
// It fails with an error wrapping [controlloop.ErrInvalid] that names the
// index and the rule for an empty name, a nil function or [NamespaceIndex]
// (that one also wraps [ErrIndexExists]).
func New[T controlloop.Object](opts Options[T]) (*Indexer[T], error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	ix := new(Indexer[T])
	d := newDefs[T]()
	if len(opts.Indexers) > 0 {
		d = d.with(opts.Indexers)
	}
	ix.cur.Store(emptyState(d))
	return ix, nil
}

// Add stores obj, replacing any object with the same key. It is the same
// as [Indexer.Update].
//
// The error wraps [controlloop.ErrInvalid] for a nil object or an invalid
// key, or is the error of an [IndexFunc]; the indexer is then unchanged.
// The write is published when Add returns. Cost: O(1) for an update that
// changes no index value, else O(log32 n) (one path of the trie copied).
func (ix *Indexer[T]) Add(obj T) error {
	_, _, err := ix.write(obj, false)
	return err
}

// Update stores obj, replacing any object with the same key, and moves it
// between index values as needed. It is the same as [Indexer.Add].
func (ix *Indexer[T]) Update(obj T) error {
	_, _, err := ix.write(obj, false)
	return err
}

// insert adds cell c for the new key k (hash h) with index values vals
// (nil when there is no custom index).
func (s *state[T]) insert(h uint64, k controlloop.Key, c *cell[T], vals [][]string) {
	var replaced bool
	s.items, replaced = set(&s.defs.cells, s.items, s.tok, h, k, c)
	if !replaced {
		s.n++
	}
	s.addIndex(0, k.Namespace, h, k, c)
	for i := 1; i < len(vals); i++ {
		for _, v := range vals[i] {
			s.addIndex(i, v, h, k, c)
		}
	}
}

// addIndex puts cell c of key k under value v of index i, replacing the
// key's previous cell there if any.
func (s *state[T]) addIndex(i int, v string, h uint64, k controlloop.Key, c *cell[T]) {
	d, tok := s.defs, s.tok
	hv := hashString(v)
	vs, ok := get(&d.sets, s.idx[i], hv, v)
	if ok && tok != nil && vs.edit == tok {
		var replaced bool
		vs.set, replaced = set(&d.cells, vs.set, tok, h, k, c)
		if !replaced {
			vs.n++
		}
		return
	}
	nv := &valueSet[T]{value: v, edit: tok}
	if ok {
		nv.set, nv.n = vs.set, vs.n
	}
	var replaced bool
	nv.set, replaced = set(&d.cells, nv.set, tok, h, k, c)
	if !replaced {
		nv.n++
	}
	s.idx[i], _ = set(&d.sets, s.idx[i], tok, hv, v, nv)
}

// removeIndex takes key k out of value v of index i, and drops the value
// when no object is left under it.
func (s *state[T]) removeIndex(i int, v string, h uint64, k controlloop.Key) {
	d, tok := s.defs, s.tok
	hv := hashString(v)
	vs, ok := get(&d.sets, s.idx[i], hv, v)
	if !ok {
		return
	}
	set2, removed := del(&d.cells, vs.set, tok, h, k)
	if !removed {
		return
	}
	switch {
	case vs.n == 1:
		s.idx[i], _ = del(&d.sets, s.idx[i], tok, hv, v)
	case tok != nil && vs.edit == tok:
		vs.set, vs.n = set2, vs.n-1
	default:
		s.idx[i], _ = set(&d.sets, s.idx[i], tok, hv, v, &valueSet[T]{value: v, set: set2, n: vs.n - 1, edit: tok})
	}
}

// Delete removes the object with obj's key, if any; deleting a missing key
// is a no-op. Index values are those of the stored object.
//
// The error wraps [controlloop.ErrInvalid] for a nil object or an invalid
// key, or is the error of an [IndexFunc] on the stored object; the indexer
// is then unchanged. The write is published when Delete returns.
func (ix *Indexer[T]) Delete(obj T) error {
	_, _, err := ix.write(obj, true)
	return err
}

// Replace makes items the whole content of the indexer, atomically: a
// reader sees either the old content or the new. When two items have the
// same key, the later wins. resourceVersion is not used: the Indexer keeps
// no version (it is accepted so that an Indexer is a reflector's Store).
//
// The error wraps [controlloop.ErrInvalid] for a nil item or an invalid key,
// or is the error of an [IndexFunc]; the indexer is then unchanged.
// Cost: O(len(items)), holding the writers' mutex throughout: the new
// content is built off to the side and published at the end, so readers go
// on reading the old content meanwhile, without waiting.
func (ix *Indexer[T]) Replace(items []T, resourceVersion string) error {
	for _, obj := range items {
		if err := controlloop.Validate(obj); err != nil {
			return fmt.Errorf("indexer: Replace: %w", err)
		}
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	n, err := build(ix.load().defs, items)
	if err != nil {
		return err
	}
	ix.cur.Store(n)
	return nil
}

// build makes a state holding items, in place under a fresh edit token.
func build[T controlloop.Object](d *defs[T], items []T) (*state[T], error) {
	n := &state[T]{defs: d, idx: make([]*node[*valueSet[T]], len(d.names)), tok: new(editToken)}
	dup := false
	for _, obj := range items {
		vals, err := d.allValues(obj)
		if err != nil {
			return nil, err
		}
		k := controlloop.KeyOf(obj)
		h := hashKey(k)
		before := n.n
		n.insert(h, k, newCell(k, obj), vals)
		dup = dup || n.n == before
	}
	defer func() { n.tok = nil }()
	if dup {
		// A key listed twice may have left its first values in the indexes:
		// index the final cells again.
		clear(n.idx)
		var err error
		walk(n.items, func(c *cell[T]) bool {
			obj := c.load()
			var vals [][]string
			if vals, err = d.allValues(obj); err != nil {
				return false
			}
			k := controlloop.KeyOf(obj)
			h := hashKey(k)
			n.addIndex(0, k.Namespace, h, k, c)
			for i := 1; i < len(vals); i++ {
				for _, v := range vals[i] {
					n.addIndex(i, v, h, k, c)
				}
			}
			return true
		})
		if err != nil {
			return nil, err
		}
	}
	return n, nil
}

// AddIndexers adds indexes. It fails with [ErrNotEmpty] once the indexer
// holds an object, with [ErrIndexExists] for a name already defined, and
// with an error wrapping [controlloop.ErrInvalid] for an empty name or a nil
// function; nothing is added then.
func (ix *Indexer[T]) AddIndexers(indexers Indexers[T]) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	s := ix.load()
	if s.n > 0 {
		return ErrNotEmpty
	}
	for _, name := range slices.Sorted(maps.Keys(indexers)) {
		if err := validIndex("AddIndexers", name, indexers[name]); err != nil {
			return err
		}
		if _, ok := s.defs.pos[name]; ok {
			return fmt.Errorf("indexer: AddIndexers[%q]: %w", name, ErrIndexExists)
		}
	}
	ix.cur.Store(emptyState(s.defs.with(indexers)))
	return nil
}
