package indexer

import (
	"iter"

	"github.com/controlloop/controlloop"
)

// Get returns the object with key k. Cost: O(log32 n), taking no lock.
func (ix *Indexer[T]) Get(k controlloop.Key) (T, bool) { return ix.load().get(k) }

func (s *state[T]) get(k controlloop.Key) (T, bool) {
	c, ok := get(&s.defs.cells, s.items, hashKey(k), k)
	if !ok {
		var zero T
		return zero, false
	}
	return c.load(), true
}

// Len returns the number of objects.
func (ix *Indexer[T]) Len() int { return ix.load().n }

// List returns an iterator over every object, in no particular order, as
// [Indexer.All] does (use slices.Collect for a slice).
func (ix *Indexer[T]) List() iter.Seq[T] {
	return func(yield func(T) bool) {
		walk(ix.load().items, func(c *cell[T]) bool { return yield(c.load()) })
	}
}

// Keys returns an iterator over the key of every object, in no particular
// order, as [Indexer.All] does.
func (ix *Indexer[T]) Keys() iter.Seq[controlloop.Key] {
	return func(yield func(controlloop.Key) bool) {
		walk(ix.load().items, func(c *cell[T]) bool { return yield(c.key) })
	}
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

// ByIndex returns an iterator over the keys and objects whose index name
// holds value, in no particular order, or an error wrapping
// [ErrUnknownIndex] at once. Like [Indexer.All], it walks the content
// present when it was called, without copying it.
func (ix *Indexer[T]) ByIndex(name, value string) (iter.Seq2[controlloop.Key, T], error) {
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

// IndexKeys returns an iterator over the keys of the objects whose index
// name holds value, or an error wrapping [ErrUnknownIndex] at once. Like
// [Indexer.ByIndex], it walks the content present when it was called.
func (ix *Indexer[T]) IndexKeys(name, value string) (iter.Seq[controlloop.Key], error) {
	vs, err := ix.load().set(name, value)
	if err != nil {
		return nil, err
	}
	return func(yield func(controlloop.Key) bool) {
		if vs != nil {
			walk(vs.set, func(c *cell[T]) bool { return yield(c.key) })
		}
	}, nil
}

// ListIndexValues returns an iterator over the values of index name that
// hold at least one object, in no particular order, or an error wrapping
// [ErrUnknownIndex] at once. Like [Indexer.ByIndex], it walks the content
// present when it was called.
func (ix *Indexer[T]) ListIndexValues(name string) (iter.Seq[string], error) {
	s := ix.load()
	i, err := s.defs.lookup(name)
	if err != nil {
		return nil, err
	}
	return func(yield func(string) bool) {
		walk(s.idx[i], func(vs *valueSet[T]) bool { return yield(vs.value) })
	}, nil
}

// IndexNames returns the names of the indexes, [NamespaceIndex] first.
func (ix *Indexer[T]) IndexNames() []string {
	return append([]string(nil), ix.load().defs.names...)
}
