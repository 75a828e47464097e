package deltafifo

import (
	"strconv"

	"github.com/controlloop/controlloop"
)

// DeltaType says what change a [Delta] records.
type DeltaType uint8

// The kinds of [Delta].
const (
	// Added: the object was created (a watch Added event).
	Added DeltaType = iota + 1
	// Updated: the object changed (a watch Modified event).
	Updated
	// Deleted: the object is gone. With [Delta.FinalStateUnknown] set, the
	// deletion was inferred by [FIFO.Replace] and Object is the last state
	// known, which may be stale.
	Deleted
	// Replaced: the object was in a relist, with Options.EmitReplaced.
	Replaced
	// Sync: the object was in a relist (by default), or is re-delivered by
	// [FIFO.Resync].
	Sync
)

// String returns the type's name.
func (t DeltaType) String() string {
	switch t {
	case Added:
		return "Added"
	case Updated:
		return "Updated"
	case Deleted:
		return "Deleted"
	case Replaced:
		return "Replaced"
	case Sync:
		return "Sync"
	}
	return "DeltaType(" + strconv.Itoa(int(t)) + ")"
}

// Delta is one change to one object.
type Delta[T controlloop.Object] struct {
	Type DeltaType
	// FinalStateUnknown marks a Deleted delta that [FIFO.Replace] inferred
	// because a relist lacked the object: the deletion itself was missed,
	// and Object is the last state the FIFO knew.
	FinalStateUnknown bool
	// Object is the object's state after the change; for Deleted, its last
	// state. It is always set: a consumer never sees a placeholder.
	Object T
}

// Deltas are the changes to one object, oldest first. A popped Deltas is
// never empty.
type Deltas[T controlloop.Object] []Delta[T]

// Oldest returns the first delta, or the zero Delta if there is none.
func (d Deltas[T]) Oldest() Delta[T] {
	if len(d) == 0 {
		return Delta[T]{}
	}
	return d[0]
}

// Newest returns the last delta, or the zero Delta if there is none.
func (d Deltas[T]) Newest() Delta[T] {
	if len(d) == 0 {
		return Delta[T]{}
	}
	return d[len(d)-1]
}

// isRefresh reports whether t only brings a newer state: the deltas that
// Options.CompressUpdates merges.
func isRefresh(t DeltaType) bool { return t == Updated || t == Sync }

// appendDelta appends d to ds, which the FIFO owns, applying the rules that
// keep a key's deltas short:
//
//   - two consecutive Deleted deltas collapse into one: the newer if the
//     older was inferred (FinalStateUnknown), else the older, so that a real
//     deletion wins over an inferred one;
//   - with compress, consecutive Updated and Sync deltas collapse into the
//     newest object, typed Updated if either was.
func appendDelta[T controlloop.Object](ds Deltas[T], d Delta[T], compress bool) Deltas[T] {
	if ds == nil {
		return Deltas[T]{d}
	}
	if n := len(ds); n > 0 {
		last := ds[n-1]
		if last.Type == Deleted && d.Type == Deleted {
			if last.FinalStateUnknown {
				ds[n-1] = d
			}
			return ds
		}
		if compress && isRefresh(last.Type) && isRefresh(d.Type) {
			if last.Type == Updated {
				d.Type = Updated
			}
			ds[n-1] = d
			return ds
		}
	}
	return append(ds, d)
}
