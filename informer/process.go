package informer

import (
	"math"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/deltafifo"
	"github.com/controlloop/controlloop/indexer"
)

// The informer processes changes on Run's goroutine, a batch at a time:
//
//  1. it pops every key queued in the FIFO (deltafifo.PopBatch);
//  2. it writes their deltas into the indexer in one Txn, each write
//     returning the object it replaced: that tells an add from an update,
//     and gives the update its old object. The Txn publishes the batch when
//     it ends, so a reader never waits for it;
//  3. it publishes the version the batch brought the cache to
//     (AppliedVersion: the FIFO hands it with a batch that took every
//     queued key, and with an empty batch after a bookmark);
//  4. it hands each change's notification to the handlers, in order, and,
//     once a relist's changes are all applied, tells the RelistHandlers
//     that the relist is done.
//
// The indexer is the only cache: it is also the FIFO's KnownObjects, which
// is up to date with the batch's keys when process returns, as the FIFO
// requires (while they are being processed, the FIFO answers for them from
// their popped deltas). A write the indexer refuses (an index function's
// error) is logged and notifies no one; the cache keeps the object it had,
// and the key's next change is told against that.

// batchMax bounds the keys processed together: none, every queued key is
// taken. A batch pays once for the trie nodes its Txn copies, and a node
// copied once takes every later write of the batch in place: an initial
// list written in one Txn is built in place, as indexer.Replace builds it,
// where batches of a few hundred keys would copy most of the trie each
// (every path of a 100k-object trie is some key's). The cost is latency:
// a batch's first notification waits for the whole batch to be written.
const batchMax = math.MaxInt

// keepCap bounds the capacity of a buffer kept from batch to batch.
const keepCap = 4096

// change is a cache write's notification, with what decides who gets it.
type change[T any] struct {
	n      notification[T]
	resync bool // an update that changed nothing: see wants
	relist bool // found by a relist: see HandlerOptions.ResyncOnRelist
}

// process applies one batch popped from the FIFO: the writes in one Txn,
// then the notifications. It holds mu throughout, except while it waits
// for room in a handler's bounded buffer, so that a handler added meanwhile
// gets each change either in its initial list or as a notification, never
// both.
func (i *Informer[T]) process(batch []deltafifo.Popped[T], version string, relisted bool) error {
	i.apply <- struct{}{} // see resync.go
	defer func() { <-i.apply }()
	if i.stopping.Load() {
		return nil // Run is returning: a batch popped while a resync ran is dropped
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	changes := i.changes[:0]
	if cap(changes) < len(batch) { // most keys have one delta
		changes = make([]change[T], 0, max(len(batch), 2*cap(changes)))
	}
	i.idx.Write(func(tx *indexer.Txn[T]) {
		for _, p := range batch {
			for _, d := range p.Deltas {
				if c, ok := i.write(tx, d, p.InInitialList); ok {
					changes = append(changes, c)
				}
			}
		}
	})
	i.advance(i.newestIn(batch, version)) // the Txn has published the batch
	if relisted {
		changes = append(changes, change[T]{n: notification[T]{kind: relistDoneNotification}})
	}
	// The batch is owed to the handlers registered now: one added while
	// the distribution below waits finds the batch in its initial list.
	regs := append(i.regsBuf[:0], i.regs...)
	i.hand(regs, changes, (*Registration[T]).wants)
	clear(changes)
	clear(regs)
	if cap(changes) > keepCap {
		changes = nil // an initial list's: let it go
	}
	i.changes, i.regsBuf = changes[:0], regs[:0]
	return nil
}

// write applies delta d to the cache in tx and returns the change to tell
// the handlers, or false if the cache refused it.
func (i *Informer[T]) write(tx *indexer.Txn[T], d deltafifo.Delta[T], inInitialList bool) (change[T], bool) {
	if d.Type == deltafifo.Deleted {
		if _, _, err := tx.Delete(d.Object); err != nil {
			i.log.Error("informer: cache write failed", "key", controlloop.KeyOf(d.Object), "err", err)
			return change[T]{}, false
		}
		if i.det != nil {
			i.det.written(d.Object, true)
		}
		return change[T]{n: notification[T]{kind: deleteNotification, obj: d.Object, flag: d.FinalStateUnknown}}, true
	}
	old, existed, err := tx.Put(d.Object)
	if err != nil {
		i.log.Error("informer: cache write failed", "key", controlloop.KeyOf(d.Object), "err", err)
		return change[T]{}, false
	}
	if i.det != nil {
		i.det.written(d.Object, false)
	}
	if !existed {
		return change[T]{n: notification[T]{kind: addNotification, obj: d.Object, flag: inInitialList}}, true
	}
	resync := old.GetResourceVersion() == d.Object.GetResourceVersion()
	relist := d.Type == deltafifo.Replaced
	return change[T]{
		n:      notification[T]{kind: updateNotification, old: old, obj: d.Object, flag: resync && relist},
		resync: resync,
		relist: relist,
	}, true
}

// hand buffers, in order, each of changes for every handler of regs that
// wants it. It is called with mu held, and waits for room in a full
// bounded buffer without mu, which the handlers may need; each full handler
// gets a change before the next change is handed to anyone. Once Run is
// returning, it drops the rest.
func (i *Informer[T]) hand(regs []*Registration[T], changes []change[T], wants func(*Registration[T], change[T]) bool) {
	full := i.fullBuf[:0]
	for _, c := range changes {
		if i.stopping.Load() {
			break
		}
		for _, r := range regs {
			if wants(r, c) && !r.tryEnqueue(c.n) {
				full = append(full, r)
			}
		}
		if len(full) > 0 {
			i.mu.Unlock()
			for _, r := range full {
				r.enqueue(c.n)
			}
			i.mu.Lock()
			clear(full)
			full = full[:0]
		}
	}
	i.fullBuf = full
}

// wants reports whether r's handler gets c: every change, except that an
// update that changed nothing (a relist found the object as the cache had
// it) goes only to handlers registered with ResyncOnRelist, and the end of
// a relist only to RelistHandlers.
func (r *Registration[T]) wants(c change[T]) bool {
	switch {
	case c.n.kind == relistDoneNotification:
		return r.relists
	case c.resync:
		return c.relist && r.opts.ResyncOnRelist
	}
	return true
}

// newestIn returns the newest of the version already applied, version
// (the FIFO's progress), and the versions of the objects in batch. The
// reflector reports its progress after it queues a change, so a batch
// popped in between holds a change newer than the progress it comes with;
// since the informer pops every queued key at once and a watch delivers
// changes in order, the cache has then applied every change up to that
// one. The applied version never goes back, whatever versions a batch
// holds. Without ordered versions it returns version.
func (i *Informer[T]) newestIn(batch []deltafifo.Popped[T], version string) string {
	if i.versions == nil {
		return version
	}
	newest := i.newer(i.applied.Load().version, version)
	for _, p := range batch {
		if len(p.Deltas) > 0 { // a key's deltas are in order: its newest is the last
			newest = i.newer(newest, p.Deltas[len(p.Deltas)-1].Object.GetResourceVersion())
		}
	}
	return newest
}

// newer returns the newer of two ordered versions; "" is older than any.
func (i *Informer[T]) newer(a, b string) string {
	if a == "" {
		return b
	}
	if n, err := i.versions.CompareVersions(b, a); err == nil && n > 0 {
		return b
	}
	return a
}
