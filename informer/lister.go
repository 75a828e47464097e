package informer

import (
	"fmt"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/indexer"
)

// Lister reads an informer's cache. Objects are shared with the cache and
// with every other reader: never modify one (copy it first). Reads take no
// lock and never wait for the informer's writes. The zero Lister is not
// usable: get one from [Informer.Lister].
type Lister[T controlloop.Object] struct {
	idx *indexer.Indexer[T]
}

// Get returns the object with the key, or an error wrapping
// [controlloop.ErrNotFound].
func (l Lister[T]) Get(key controlloop.Key) (T, error) {
	obj, ok := l.idx.Get(key)
	if !ok {
		return obj, fmt.Errorf("informer: %s: %w", key, controlloop.ErrNotFound)
	}
	return obj, nil
}

// List returns the cached objects that sel chooses. A selector with a
// namespace reads the namespace index rather than the whole cache.
func (l Lister[T]) List(sel controlloop.Selector) []T {
	var out []T
	if sel.Namespace != "" {
		objs, _ := l.idx.ByIndex(indexer.NamespaceIndex, sel.Namespace)
		if len(sel.Labels) == 0 {
			return objs
		}
		for _, obj := range objs {
			if sel.MatchesLabels(obj.GetObjectMeta().Labels) {
				out = append(out, obj)
			}
		}
		return out
	}
	for _, obj := range l.idx.All() {
		if sel.Matches(obj) {
			out = append(out, obj)
		}
	}
	return out
}

// ByNamespace returns the cached objects in namespace ns.
func (l Lister[T]) ByNamespace(ns string) []T {
	objs, _ := l.idx.ByIndex(indexer.NamespaceIndex, ns)
	return objs
}

// ByIndex returns the cached objects that the named index files under
// value. It fails for an index the informer does not keep.
func (l Lister[T]) ByIndex(name, value string) ([]T, error) {
	return l.idx.ByIndex(name, value)
}

// Len returns the number of cached objects.
func (l Lister[T]) Len() int { return l.idx.Len() }
