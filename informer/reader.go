package informer

import (
	"fmt"
	"iter"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/indexer"
)

// Reader reads an informer's cache. Objects are shared with the cache and
// with every other reader: never modify one; to change an object, modify a
// private copy (your type's DeepCopy, as in controller-runtime), and catch
// a forgotten copy in tests with [Options.MutationDetector]. Walks are
// iterators over keys and objects ([controlloop.Collect] makes a slice of
// one); each walks the content present when it was called. Get one from
// [Informer.Reader]; the zero Reader reads an empty cache that keeps only
// the namespace index.
type Reader[T controlloop.Object] struct {
	idx *indexer.Indexer[T] // nil in the zero Reader: see cache
}

// cache returns the indexer to read: an empty one for the zero Reader.
func (r Reader[T]) cache() *indexer.Indexer[T] {
	if r.idx == nil {
		return new(indexer.Indexer[T])
	}
	return r.idx
}

// Get returns the object with the key, or an error wrapping
// [controlloop.ErrNotFound].
func (r Reader[T]) Get(key controlloop.Key) (T, error) {
	obj, ok := r.cache().Get(key)
	if !ok {
		return obj, fmt.Errorf("informer: %s: %w", key, controlloop.ErrNotFound)
	}
	return obj, nil
}

// All returns an iterator over every cached object.
func (r Reader[T]) All() iter.Seq2[controlloop.Key, T] { return r.cache().All() }

// List returns an iterator over the cached objects that sel chooses. A
// selector with a namespace walks the namespace index rather than the whole
// cache.
func (r Reader[T]) List(sel controlloop.Selector) iter.Seq2[controlloop.Key, T] {
	idx := r.cache()
	all := idx.All()
	if sel.Namespace != "" {
		all, _ = idx.ByIndex(indexer.NamespaceIndex, sel.Namespace) // always kept
	}
	return func(yield func(controlloop.Key, T) bool) {
		for k, obj := range all {
			if sel.Matches(obj) && !yield(k, obj) {
				return
			}
		}
	}
}

// ByIndex returns an iterator over the cached objects that the named index
// files under value. It fails at once for an index the informer does not
// keep.
func (r Reader[T]) ByIndex(name, value string) (iter.Seq2[controlloop.Key, T], error) {
	return r.cache().ByIndex(name, value)
}

// Len returns the number of cached objects.
func (r Reader[T]) Len() int { return r.cache().Len() }
