package memstore

import (
	"slices"
	"sync"

	"github.com/controlloop/controlloop"
)

// keyOrder keeps the store's keys sorted from one list to the next, so that
// a list walks them in order instead of sorting every object each time.
// Writers only record what changed, in O(1); the next list merges the
// changes in, in O(n + a log a) for n keys and a keys created since.
//
// Writers call lockedAdd and lockedDelete under the store's write lock.
// Lists call sorted under the store's read lock; mu serialises them, since
// several may hold the read lock at once. No writer runs while a list holds
// the read lock, so writers need not take mu.
type keyOrder struct {
	mu sync.Mutex
	// keys is the sorted key set as of the last merge, possibly with keys
	// deleted since. A published slice is never modified: a merge makes a
	// new one, so a list may keep walking the one it got.
	keys []controlloop.Key
	// added holds the keys created since the last merge, unsorted.
	added []controlloop.Key
	// deleted counts deletes since the last merge.
	deleted int
	// stale means keys is unusable (too many changes piled up unmerged):
	// the next list sorts from scratch.
	stale bool
}

// lockedAdd records the creation of key in a store now holding n objects.
// If creations pile up beyond the store's size with no list to merge them,
// the order is dropped rather than let it grow without bound.
func (o *keyOrder) lockedAdd(key controlloop.Key, n int) {
	if o.stale {
		return
	}
	o.added = append(o.added, key)
	if len(o.added) > max(1024, n) {
		o.keys, o.added, o.deleted, o.stale = nil, nil, 0, true
	}
}

// lockedDelete records a delete.
func (o *keyOrder) lockedDelete() {
	if !o.stale {
		o.deleted++
	}
}

// sortedKeys returns the keys of objects in key order. The caller holds the
// store's read lock and must not modify the result.
func sortedKeys[T controlloop.Object](o *keyOrder, objects map[controlloop.Key]stored[T]) []controlloop.Key {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.stale {
		keys := make([]controlloop.Key, 0, len(objects))
		for k := range objects {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, compareKeys)
		o.keys, o.added, o.deleted, o.stale = keys, nil, 0, false
		return keys
	}
	if len(o.added) == 0 && o.deleted == 0 {
		return o.keys
	}
	slices.SortFunc(o.added, compareKeys)
	merged := make([]controlloop.Key, 0, len(objects))
	push := func(k controlloop.Key) {
		if _, ok := objects[k]; !ok {
			return // deleted since
		}
		if n := len(merged); n > 0 && merged[n-1] == k {
			return // deleted and created again
		}
		merged = append(merged, k)
	}
	i, j := 0, 0
	for i < len(o.keys) || j < len(o.added) {
		if j == len(o.added) || (i < len(o.keys) && compareKeys(o.keys[i], o.added[j]) <= 0) {
			push(o.keys[i])
			i++
		} else {
			push(o.added[j])
			j++
		}
	}
	clear(o.added)
	o.keys, o.added, o.deleted = merged, o.added[:0], 0
	return merged
}
