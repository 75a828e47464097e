package workqueue

import "hash/maphash"

// table maps items to their entries: an open-addressing hash table with
// linear probing. It exists because a Go map would hash an item twice on the
// hot paths (a lookup then an insert in Add, a lookup then a delete in Done);
// lookup returns the slot, so the follow-up costs no second hash. With
// controlloop.Key items that halves the hashing, the largest cost of an
// Add/Get/Done cycle.
//
// Deletion shifts later entries back instead of leaving tombstones, so
// lookups never slow down with churn. The table grows at half full and
// never shrinks, like a Go map.
type table[T comparable] struct {
	seed  maphash.Seed
	slots []tableSlot[T] // len is a power of two
	n     int            // occupied slots
}

type tableSlot[T comparable] struct {
	hash uint64
	e    *entry[T] // nil: empty
}

func newTable[T comparable]() table[T] {
	return table[T]{seed: maphash.MakeSeed(), slots: make([]tableSlot[T], 16)}
}

// lookup returns item's entry and its slot, or nil and the slot where item
// would be inserted; h is item's hash, for insertAt.
func (t *table[T]) lookup(item T) (e *entry[T], slot int, h uint64) {
	h = maphash.Comparable(t.seed, item)
	mask := len(t.slots) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.e == nil {
			return nil, i, h
		}
		if s.hash == h && s.e.item == item {
			return s.e, i, h
		}
	}
}

// insertAt stores e, whose hash is h, in the empty slot that lookup
// returned; the table must not have changed since.
func (t *table[T]) insertAt(slot int, h uint64, e *entry[T]) {
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
		slot = t.emptySlot(h)
	}
	t.slots[slot] = tableSlot[T]{hash: h, e: e}
	t.n++
}

func (t *table[T]) emptySlot(h uint64) int {
	mask := len(t.slots) - 1
	i := int(h) & mask
	for t.slots[i].e != nil {
		i = (i + 1) & mask
	}
	return i
}

func (t *table[T]) grow() {
	old := t.slots
	t.slots = make([]tableSlot[T], 2*len(old))
	for _, s := range old {
		if s.e != nil {
			t.slots[t.emptySlot(s.hash)] = s
		}
	}
}

// deleteAt empties an occupied slot, moving back the entries after it that
// would otherwise become unreachable.
func (t *table[T]) deleteAt(i int) {
	mask := len(t.slots) - 1
	for j := (i + 1) & mask; t.slots[j].e != nil; j = (j + 1) & mask {
		home := int(t.slots[j].hash) & mask
		// Move j into the hole at i unless that would put it before its home.
		if (j-home)&mask >= (j-i)&mask {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = tableSlot[T]{}
	t.n--
}
