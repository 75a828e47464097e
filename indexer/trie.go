package indexer

import (
	"hash/maphash"
	"math/bits"

	"github.com/controlloop/controlloop"
)

// This file holds the persistent hash trie (a CHAMP: compressed hash-array
// mapped prefix tree) under every map and set of the indexer. A trie value is
// immutable once published: a write copies the nodes on the path from the
// root to the changed entry and shares every other node with the previous
// version, so readers can walk an old root without a lock while a writer
// builds the next one. A bulk build (Replace) passes an edit token; nodes it
// creates under that token are changed in place until the build is published.

const (
	fanBits  = 5
	fanMask  = 1<<fanBits - 1
	maxShift = 60 // the last level uses the top 4 bits; deeper nodes are collision lists
)

// seed keys every hash of this process. It is set once at start-up and never
// changed.
var seed = maphash.MakeSeed()

func hashString(s string) uint64 { return maphash.String(seed, s) }

func hashKey(k controlloop.Key) uint64 {
	return maphash.String(seed, k.Name) ^ bits.RotateLeft64(maphash.String(seed, k.Namespace), 31)
}

// editToken marks the nodes one bulk build may change in place.
type editToken struct{ _ byte }

// node is one level of a trie. datamap has a bit for each slot that holds an
// entry (in data, in slot order), nodemap one for each slot that holds a
// sub-node (in nodes). Below maxShift a node is a collision list: only data,
// scanned linearly.
type node[E any] struct {
	datamap uint32
	nodemap uint32
	data    []E
	nodes   []*node[E]
	edit    *editToken // nodes created under a live edit token may change in place
}

// ops tells the trie how to find the key of an entry and hash it.
type ops[K comparable, E any] struct {
	key  func(E) K
	hash func(K) uint64
}

func frag(h uint64, shift uint) uint32 { return 1 << (uint32(h>>shift) & fanMask) }

func index(bitmap, bit uint32) int { return bits.OnesCount32(bitmap & (bit - 1)) }

// get returns the entry with key k (hash h) under n.
func get[K comparable, E any](o *ops[K, E], n *node[E], h uint64, k K) (E, bool) {
	var zero E
	shift := uint(0)
	for n != nil {
		if shift > maxShift {
			for _, e := range n.data {
				if o.key(e) == k {
					return e, true
				}
			}
			return zero, false
		}
		bit := frag(h, shift)
		if n.datamap&bit != 0 {
			e := n.data[index(n.datamap, bit)]
			if o.key(e) == k {
				return e, true
			}
			return zero, false
		}
		if n.nodemap&bit == 0 {
			return zero, false
		}
		n = n.nodes[index(n.nodemap, bit)]
		shift += fanBits
	}
	return zero, false
}

// editable returns n itself if it belongs to tok, else a copy that does.
// A copy made without a token shares n's slices: the caller must replace,
// never write into, a slice it changes.
func (n *node[E]) editable(tok *editToken) *node[E] {
	if tok != nil && n.edit == tok {
		return n
	}
	c := &node[E]{datamap: n.datamap, nodemap: n.nodemap, data: n.data, nodes: n.nodes, edit: tok}
	if tok != nil {
		c.data = append([]E(nil), n.data...)
		c.nodes = append([]*node[E](nil), n.nodes...)
	}
	return c
}

func setAt[S any](s []S, i int, v S, inPlace bool) []S {
	if inPlace {
		s[i] = v
		return s
	}
	c := make([]S, len(s))
	copy(c, s)
	c[i] = v
	return c
}

func insertAt[S any](s []S, i int, v S, inPlace bool) []S {
	if inPlace && cap(s) > len(s) {
		s = s[:len(s)+1]
		copy(s[i+1:], s[i:])
		s[i] = v
		return s
	}
	capacity := len(s) + 1
	if inPlace {
		capacity += len(s)/4 + 1 // a bulk build keeps growing this node
	}
	c := make([]S, len(s)+1, capacity)
	copy(c, s[:i])
	c[i] = v
	copy(c[i+1:], s[i:])
	return c
}

func removeAt[S any](s []S, i int, inPlace bool) []S {
	if inPlace {
		copy(s[i:], s[i+1:])
		var zero S
		s[len(s)-1] = zero
		return s[:len(s)-1]
	}
	if len(s) == 1 {
		return nil
	}
	c := make([]S, len(s)-1)
	copy(c, s[:i])
	copy(c[i:], s[i+1:])
	return c
}

// set stores e under its key k (hash h) and returns the new root, and whether
// an entry with that key was replaced.
func set[K comparable, E any](o *ops[K, E], n *node[E], tok *editToken, h uint64, k K, e E) (*node[E], bool) {
	if n == nil {
		return &node[E]{datamap: frag(h, 0), data: []E{e}, edit: tok}, false
	}
	return setIn(o, n, tok, 0, h, k, e)
}

func setIn[K comparable, E any](o *ops[K, E], n *node[E], tok *editToken, shift uint, h uint64, k K, e E) (*node[E], bool) {
	if shift > maxShift {
		for i, d := range n.data {
			if o.key(d) == k {
				c := n.editable(tok)
				c.data = setAt(c.data, i, e, tok != nil)
				return c, true
			}
		}
		c := n.editable(tok)
		c.data = insertAt(c.data, len(c.data), e, tok != nil)
		return c, false
	}
	bit := frag(h, shift)
	switch {
	case n.datamap&bit != 0:
		i := index(n.datamap, bit)
		d := n.data[i]
		dk := o.key(d)
		c := n.editable(tok)
		if dk == k {
			c.data = setAt(c.data, i, e, tok != nil)
			return c, true
		}
		sub := merge(tok, shift+fanBits, d, o.hash(dk), e, h)
		c.data = removeAt(c.data, i, tok != nil)
		c.datamap &^= bit
		c.nodemap |= bit
		c.nodes = insertAt(c.nodes, index(c.nodemap, bit), sub, tok != nil)
		return c, false
	case n.nodemap&bit != 0:
		i := index(n.nodemap, bit)
		child, replaced := setIn(o, n.nodes[i], tok, shift+fanBits, h, k, e)
		if child == n.nodes[i] {
			return n, replaced
		}
		c := n.editable(tok)
		c.nodes = setAt(c.nodes, i, child, tok != nil)
		return c, replaced
	default:
		c := n.editable(tok)
		c.datamap |= bit
		c.data = insertAt(c.data, index(c.datamap, bit), e, tok != nil)
		return c, false
	}
}

// merge makes the node that holds the two entries a and b, whose hashes
// agree below shift.
func merge[E any](tok *editToken, shift uint, a E, ha uint64, b E, hb uint64) *node[E] {
	if shift > maxShift {
		return &node[E]{data: []E{a, b}, edit: tok}
	}
	ba, bb := frag(ha, shift), frag(hb, shift)
	if ba == bb {
		return &node[E]{nodemap: ba, nodes: []*node[E]{merge(tok, shift+fanBits, a, ha, b, hb)}, edit: tok}
	}
	if ba > bb {
		a, b = b, a
	}
	return &node[E]{datamap: ba | bb, data: []E{a, b}, edit: tok}
}

// del removes the entry with key k (hash h) and returns the new root (nil when
// empty) and whether an entry was removed.
func del[K comparable, E any](o *ops[K, E], n *node[E], tok *editToken, h uint64, k K) (*node[E], bool) {
	if n == nil {
		return nil, false
	}
	c, removed := delIn(o, n, tok, 0, h, k)
	if c != nil && c.datamap == 0 && c.nodemap == 0 && len(c.data) == 0 {
		return nil, removed
	}
	return c, removed
}

func delIn[K comparable, E any](o *ops[K, E], n *node[E], tok *editToken, shift uint, h uint64, k K) (*node[E], bool) {
	if shift > maxShift {
		for i, d := range n.data {
			if o.key(d) == k {
				c := n.editable(tok)
				c.data = removeAt(c.data, i, tok != nil)
				return c, true
			}
		}
		return n, false
	}
	bit := frag(h, shift)
	switch {
	case n.datamap&bit != 0:
		i := index(n.datamap, bit)
		if o.key(n.data[i]) != k {
			return n, false
		}
		c := n.editable(tok)
		c.data = removeAt(c.data, i, tok != nil)
		c.datamap &^= bit
		return c, true
	case n.nodemap&bit != 0:
		i := index(n.nodemap, bit)
		child, removed := delIn(o, n.nodes[i], tok, shift+fanBits, h, k)
		if !removed {
			return n, false
		}
		c := n.editable(tok)
		if child.nodemap == 0 && len(child.data) == 1 {
			// A sub-node left with one entry folds into this node, so that
			// the trie keeps one shape per content.
			c.nodes = removeAt(c.nodes, i, tok != nil)
			c.nodemap &^= bit
			c.datamap |= bit
			c.data = insertAt(c.data, index(c.datamap, bit), child.data[0], tok != nil)
			return c, true
		}
		c.nodes = setAt(c.nodes, i, child, tok != nil)
		return c, true
	}
	return n, false
}

// walk calls yield for each entry under n until yield returns false, and
// reports whether it ran to the end.
func walk[E any](n *node[E], yield func(E) bool) bool {
	if n == nil {
		return true
	}
	for _, e := range n.data {
		if !yield(e) {
			return false
		}
	}
	for _, c := range n.nodes {
		if !walk(c, yield) {
			return false
		}
	}
	return true
}
