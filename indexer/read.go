package indexer

import (
	"iter"

	"github.com/controlloop/controlloop"
)

// Get returns the object with key k. Cost: O(1), no lock.
func (ix *Indexer[T]) Get(k controlloop.Key) (T, bool) {
	s := ix.load()
	c, ok := get(&s.defs.cells, s.items, hashKey(k), k)
	if !ok {
		var zero T
		return zero, false
	}
	return c.load(), true
}

// Has reports whether an object has key k. It is Get without loading the
// object, so a little cheaper. Cost: O(1), no lock.
func (ix *Indexer[T]) Has(k controlloop.Key) bool {
	s := ix.load()
	_, ok := get(&s.defs.cells, s.items, hashKey(k), k)
	return ok
}

// CountKeys returns how many of keys have an object. It is Has for many
// keys at once, and faster per key: the lookups overlap their memory
// accesses. Cost: O(len(keys)), no lock.
func (ix *Indexer[T]) CountKeys(keys []controlloop.Key) int {
	s := ix.load()
	return count(&s.defs.cells, s.items, keys)
}

// Len returns the number of objects.
func (ix *Indexer[T]) Len() int { return ix.load().n }

// List returns every object, in no particular order. Cost: O(n) and one
// allocation; [Indexer.All] walks without the copy.
func (ix *Indexer[T]) List() []T {
	s := ix.load()
	out := make([]T, 0, s.n)
	walk(s.items, func(c *cell[T]) bool {
		out = append(out, c.load())
		return true
	})
	return out
}

// Keys returns the key of every object, in no particular order.
func (ix *Indexer[T]) Keys() []controlloop.Key {
	s := ix.load()
	out := make([]controlloop.Key, 0, s.n)
	walk(s.items, func(c *cell[T]) bool {
		out = append(out, cellKey(c))
		return true
	})
	return out
}

// All returns an iterator over every key and object, in no particular
// order. The set of keys is the one present when iteration starts; writes
// made meanwhile do not disturb it and are not blocked by it. The loop body
// may call any method of the indexer.
func (ix *Indexer[T]) All() iter.Seq2[controlloop.Key, T] {
	return func(yield func(controlloop.Key, T) bool) {
		s := ix.load()
		walk(s.items, func(c *cell[T]) bool {
			return yield(c.key, c.load())
		})
	}
}

// set returns the objects under value of index name.
func (s *state[T]) set(name, value string) (*valueSet[T], error) {
	i, err := s.defs.lookup(name)
	if err != nil {
		return nil, err
	}
	vs, _ := get(&s.defs.sets, s.idx[i], hashString(value), value)
	return vs, nil
}

// ByIndex returns the objects whose index name holds value, in no particular
// order, or an error wrapping [ErrUnknownIndex].
// Cost: O(result) and one allocation.
func (ix *Indexer[T]) ByIndex(name, value string) ([]T, error) {
	vs, err := ix.load().set(name, value)
	if err != nil || vs == nil {
		return nil, err
	}
	out := make([]T, 0, vs.n)
	walk(vs.set, func(c *cell[T]) bool {
		out = append(out, c.load())
		return true
	})
	return out, nil
}

// ByIndexSeq is [Indexer.ByIndex] as an iterator over keys and objects,
// which walks without copying; the error (unknown index) comes at once.
// Like [Indexer.All], it walks the content present when it was called.
func (ix *Indexer[T]) ByIndexSeq(name, value string) (iter.Seq2[controlloop.Key, T], error) {
	vs, err := ix.load().set(name, value)
	if err != nil {
		return nil, err
	}
	return func(yield func(controlloop.Key, T) bool) {
		if vs == nil {
			return
		}
		walk(vs.set, func(c *cell[T]) bool {
			return yield(c.key, c.load())
		})
	}, nil
}

// IndexKeys returns the keys of the objects whose index name holds value,
// or an error wrapping [ErrUnknownIndex].
func (ix *Indexer[T]) IndexKeys(name, value string) ([]controlloop.Key, error) {
	vs, err := ix.load().set(name, value)
	if err != nil || vs == nil {
		return nil, err
	}
	out := make([]controlloop.Key, 0, vs.n)
	walk(vs.set, func(c *cell[T]) bool {
		out = append(out, cellKey(c))
		return true
	})
	return out, nil
}

// ListIndexValues returns the values of index name that hold at least one
// object, in no particular order, or an error wrapping [ErrUnknownIndex].
func (ix *Indexer[T]) ListIndexValues(name string) ([]string, error) {
	s := ix.load()
	i, err := s.defs.lookup(name)
	if err != nil {
		return nil, err
	}
	var out []string
	walk(s.idx[i], func(vs *valueSet[T]) bool {
		out = append(out, vs.value)
		return true
	})
	return out, nil
}

// IndexNames returns the names of the indexes, [NamespaceIndex] first.
func (ix *Indexer[T]) IndexNames() []string {
	return append([]string(nil), ix.load().defs.names...)
}
