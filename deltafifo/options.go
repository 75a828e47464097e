package deltafifo

import (
	"fmt"
	"iter"
	"reflect"

	"github.com/controlloop/controlloop"
)

// KnownObjects is the cache that the FIFO's consumer keeps up to date with
// the popped deltas: an informer's indexer, which satisfies it. The FIFO
// reads it to find the objects a relist no longer lists, to let Delete of an
// object the FIFO no longer queues through, and to resync.
//
// It must change only through the consumer's process function, for the keys
// being processed, and be up to date with them when the process function
// returns.
type KnownObjects[T controlloop.Object] interface {
	// Get returns the object with the key.
	Get(key controlloop.Key) (T, bool)
	// All iterates over every key and object.
	All() iter.Seq2[controlloop.Key, T]
}

// Options configure [New]. The zero Options give client-go's DeltaFIFO
// behaviour without a known-objects cache.
type Options[T controlloop.Object] struct {
	// KnownObjects is the consumer's cache (see [KnownObjects]). The FIFO
	// calls it while holding its own lock, so it must never call the FIFO.
	// Defaults to nil: the FIFO knows only the keys it holds deltas for, so
	// a relist infers no deletion of a popped object and Resync does
	// nothing.
	KnownObjects KnownObjects[T]
	// EmitReplaced makes [FIFO.Replace] queue Replaced deltas instead of
	// Sync ones. Defaults to false (Sync), as in client-go.
	EmitReplaced bool
	// CompressUpdates bounds the memory a slow consumer lets a busy key
	// take: consecutive Updated and Sync deltas of a key collapse into one
	// delta with the newest object (typed Updated if either was). Deltas of
	// other types are kept. Defaults to false: every delta is kept, as in
	// client-go.
	CompressUpdates bool
	// Transform, if set, is applied to each object given to Add, Update,
	// Delete and Replace before it is queued, for example to drop fields
	// the consumer never reads. It must keep the key and must not modify
	// its argument. Objects the FIFO takes from KnownObjects are not
	// transformed again. An error is returned by the write, which then
	// queues nothing. Defaults to nil: objects are queued as given.
	Transform func(T) (T, error)
}

// validate reports the first field of o that breaks its rule.
func (o *Options[T]) validate() error {
	if o.KnownObjects != nil {
		if v := reflect.ValueOf(o.KnownObjects); v.Kind() == reflect.Pointer && v.IsNil() {
			return fmt.Errorf("deltafifo: Options.KnownObjects is a nil %T: must be nil (no known objects) or a usable value: %w", o.KnownObjects, controlloop.ErrInvalid)
		}
	}
	return nil
}
