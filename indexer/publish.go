package indexer

import (
	"fmt"

	"github.com/controlloop/controlloop"
)

// Txn is a batch of writes to an [Indexer], open for the length of the
// function given to [Indexer.Write]. Its writes change a private draft of
// the content in place; Write publishes the draft when the function
// returns, with one atomic store, as a reader's next load sees. A Txn must
// not be used after its function returned, nor by another goroutine.
type Txn[T controlloop.Object] struct {
	ix    *Indexer[T]
	base  *state[T] // the published state the Txn started from
	draft *state[T] // nil until the first write that changes a trie
}

// Write runs f with a Txn and publishes its writes when f returns: a reader
// sees none of the structural changes (keys added or removed, index values
// changed) before, and all of them after. Only an update that changes no
// index value, which stores its object into the key's existing cell, may be
// seen by a reader before f returns. Writers are serialised: another
// writer waits for f; a reader never does.
//
// Writing a batch in one Txn costs less than writing its objects one by
// one: the nodes of the trie that the batch changes are copied once, then
// changed in place, where single writes copy their whole path each.
func (ix *Indexer[T]) Write(f func(*Txn[T])) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	t := ix.lockedBegin()
	defer t.commit()
	f(t)
}

// write is Write for one write, without the closure.
func (ix *Indexer[T]) write(obj T, del bool) (T, bool, error) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	t := ix.lockedBegin()
	defer t.commit()
	if del {
		return t.Delete(obj)
	}
	return t.Put(obj)
}

// lockedBegin starts the Txn of a write: the Indexer's own, reused, since
// writers are serialised.
func (ix *Indexer[T]) lockedBegin() *Txn[T] {
	ix.txn = Txn[T]{ix: ix, base: ix.load()}
	return &ix.txn
}

// commit publishes the draft, if any. Its edit token dies with it: a later
// Txn copies what it changes.
func (t *Txn[T]) commit() {
	if t.draft != nil {
		t.draft.tok = nil
		t.ix.cur.Store(t.draft)
	}
	*t = Txn[T]{} // let go of the states
}

// latest returns the content as the Txn's writes left it.
func (t *Txn[T]) latest() *state[T] {
	if t.draft != nil {
		return t.draft
	}
	return t.base
}

// mutable returns the draft, starting it from the published state on the
// first call. The first write copies the nodes on its paths and shares the
// rest, all that a Txn of one write (most of them, between bursts) needs;
// from the second on, the draft has an edit token, so that a node is
// copied once and then changed in place (bench/clientgo's
// BenchmarkIndexerAddDelete, one write per Txn; the informer's
// BenchmarkInitialSync, a batch).
func (t *Txn[T]) mutable() *state[T] {
	switch {
	case t.draft == nil:
		s := *t.base
		s.idx = append([]*node[*valueSet[T]](nil), s.idx...)
		s.tok = nil
		t.draft = &s
	case t.draft.tok == nil:
		t.draft.tok = new(editToken)
	}
	return t.draft
}

// Get returns the object with key k as the Txn's writes left it.
func (t *Txn[T]) Get(k controlloop.Key) (T, bool) { return t.latest().get(k) }

// Put stores obj, replacing any object with the same key, and returns the
// object it replaced, if any. The error wraps [controlloop.ErrInvalid] for
// a nil object or an invalid key, or is the error of an [IndexFunc]; the
// content is then unchanged. Cost: O(1) for an update that changes no index
// value, else O(log32 n).
func (t *Txn[T]) Put(obj T) (old T, replaced bool, err error) {
	if err := controlloop.Validate(obj); err != nil {
		return old, false, fmt.Errorf("indexer: %w", err)
	}
	k := controlloop.KeyOf(obj)
	h := hashKey(k)
	s := t.latest()
	d := s.defs
	c, exists := get(&d.cells, s.items, h, k)
	if !exists {
		newVals, err := d.allValues(obj)
		if err != nil {
			return old, false, err
		}
		t.mutable().insert(h, k, newCell(k, obj), newVals)
		return old, false, nil
	}
	old = c.load()
	var oldVals [][]string
	if len(d.funcs) > 1 { // the namespace is part of the key: only custom indexes can move
		if oldVals, err = d.allValues(old); err != nil {
			return old, true, err
		}
	}
	newVals, err := d.allValues(obj)
	if err != nil {
		return old, true, err
	}
	if sameAll(oldVals, newVals) {
		c.store(obj)
		return old, true, nil
	}
	n := t.mutable()
	nc := newCell(k, obj)
	n.items, _ = set(&d.cells, n.items, n.tok, h, k, nc)
	n.addIndex(0, k.Namespace, h, k, nc) // replaces the old cell
	for i := 1; i < len(d.funcs); i++ {
		for _, v := range oldVals[i] {
			if !contains(newVals[i], v) {
				n.removeIndex(i, v, h, k)
			}
		}
		for _, v := range newVals[i] {
			n.addIndex(i, v, h, k, nc)
		}
	}
	return old, true, nil
}

// Delete removes the object with obj's key and returns it, if there was
// one; deleting a missing key is a no-op. Index values are those of the
// stored object. The error wraps [controlloop.ErrInvalid] for a nil object
// or an invalid key, or is the error of an [IndexFunc] on the stored
// object; the content is then unchanged. Cost: O(log32 n).
func (t *Txn[T]) Delete(obj T) (old T, deleted bool, err error) {
	if err := controlloop.Validate(obj); err != nil {
		return old, false, fmt.Errorf("indexer: %w", err)
	}
	k := controlloop.KeyOf(obj)
	h := hashKey(k)
	s := t.latest()
	d := s.defs
	c, exists := get(&d.cells, s.items, h, k)
	if !exists {
		return old, false, nil
	}
	old = c.load()
	oldVals, err := d.allValues(old)
	if err != nil {
		return old, false, err
	}
	n := t.mutable()
	n.items, _ = del(&d.cells, n.items, n.tok, h, k)
	n.n--
	n.removeIndex(0, k.Namespace, h, k)
	for i := 1; i < len(oldVals); i++ {
		for _, v := range oldVals[i] {
			n.removeIndex(i, v, h, k)
		}
	}
	return old, true, nil
}

// load returns the published state, installing an empty one in a zero
// Indexer.
func (ix *Indexer[T]) load() *state[T] {
	if s := ix.cur.Load(); s != nil {
		return s
	}
	ix.cur.CompareAndSwap(nil, emptyState(newDefs[T]()))
	return ix.cur.Load()
}

func emptyState[T controlloop.Object](d *defs[T]) *state[T] {
	return &state[T]{defs: d, idx: make([]*node[*valueSet[T]], len(d.names))}
}
