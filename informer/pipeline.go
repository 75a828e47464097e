package informer

import (
	"iter"
	"sync"

	"github.com/controlloop/controlloop"
)

// The informer processes changes in two stages, on two goroutines, so that
// a stream of changes keeps two cores busy:
//
//  1. Run's goroutine pops each key's deltas from the FIFO and resolves them
//     against known, the informer's own map of the objects it has
//     processed: add or update, and the old object. known is the FIFO's
//     KnownObjects, so the FIFO sees every processed change at once, as its
//     contract requires.
//  2. The applier writes each change into the indexer, then hands its
//     notification to the handlers, in the order of stage 1.
//
// A pipe of bounded length joins them, so memory stays bounded when stage 2
// waits for a bounded handler buffer. The indexer lags stage 1 by at most
// the pipe; the informer reports synced once stage 2 has applied the first
// list.

// known is the informer's map of processed objects, key to object: the
// FIFO's KnownObjects, and where stage 1 finds old objects. It is written
// only by stage 1 (and by the applier to undo a failed cache write).
// Looking old objects up in the indexer instead would cost more than the map:
// an indexer read publishes its pending writes, after which its next write
// copies its path through the trie.
type known[T controlloop.Object] struct {
	mu sync.RWMutex // protects m
	m  map[controlloop.Key]T
}

func (k *known[T]) Get(key controlloop.Key) (T, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	obj, ok := k.m[key]
	return obj, ok
}

func (k *known[T]) Len() int {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return len(k.m)
}

// CountKeys returns how many of keys are known: with Len, it lets the
// FIFO's Replace skip walking All when every known key was listed.
func (k *known[T]) CountKeys(keys []controlloop.Key) int {
	k.mu.RLock()
	defer k.mu.RUnlock()
	n := 0
	for _, key := range keys {
		if _, ok := k.m[key]; ok {
			n++
		}
	}
	return n
}

// All holds the read lock while the FIFO walks: it only queues deltas.
func (k *known[T]) All() iter.Seq2[controlloop.Key, T] {
	return func(yield func(controlloop.Key, T) bool) {
		k.mu.RLock()
		defer k.mu.RUnlock()
		for key, obj := range k.m {
			if !yield(key, obj) {
				return
			}
		}
	}
}

// change is what stage 1 hands to stage 2: a cache write and the
// notification that follows it, or, with synced set, the point where the
// first list has been processed.
type change[T any] struct {
	n      notification[T]
	resync bool // an update that changed nothing: for resyncing handlers only
	synced bool
}

// pipeCap bounds the changes waiting for stage 2.
const pipeCap = 4096

// pipe is a bounded FIFO of changes, taken out in batches.
type pipe[T any] struct {
	mu      sync.Mutex // protects the fields below
	cond    sync.Cond  // broadcast on push into an empty pipe, on take from a full one and on close
	queue   []change[T]
	spare   []change[T] // a drained batch, for reuse
	closed  bool
	waiting bool // someone waits on cond
}

func newPipe[T any]() *pipe[T] {
	p := &pipe[T]{}
	p.cond.L = &p.mu
	return p
}

// push appends c, waiting while the pipe is full. It drops c once the pipe
// is closed.
func (p *pipe[T]) push(c change[T]) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.queue) >= pipeCap && !p.closed {
		p.waiting = true
		p.cond.Wait()
	}
	if p.closed {
		return
	}
	p.queue = append(p.queue, c)
	if p.waiting {
		p.waiting = false
		p.cond.Broadcast()
	}
}

// take returns every queued change, waiting for one; the previous batch
// must be done with. It returns nil once the pipe is closed.
func (p *pipe[T]) take(prev []change[T]) []change[T] {
	clear(prev)
	p.mu.Lock()
	defer p.mu.Unlock()
	if prev != nil {
		p.spare = prev[:0]
	}
	for len(p.queue) == 0 && !p.closed {
		p.waiting = true
		p.cond.Wait()
	}
	if p.closed {
		return nil
	}
	batch := p.queue
	p.queue, p.spare = p.spare, nil
	if p.waiting {
		p.waiting = false
		p.cond.Broadcast()
	}
	return batch
}

// close wakes and ends push and take.
func (p *pipe[T]) close() {
	p.mu.Lock()
	p.closed = true
	p.cond.Broadcast()
	p.mu.Unlock()
}

// apply is stage 2: it writes each change into the cache and notifies the
// handlers, until the pipe closes.
func (i *Informer[T]) apply() {
	var batch []change[T]
	for {
		if batch = i.pipe.take(batch); batch == nil {
			return
		}
		i.mu.Lock()
		for _, c := range batch {
			if c.synced {
				i.lockedMarkSynced()
				continue
			}
			if err := i.write(c.n); err != nil {
				continue
			}
			i.distribute(c.n, c.resync)
		}
		i.mu.Unlock()
	}
}

// write applies n's change to the cache. A write that fails (an index
// function's error) is logged and known is put back in step with the
// cache, unless stage 1 has moved the key on since, in which case its next
// change brings the cache up to date.
func (i *Informer[T]) write(n notification[T]) error {
	var err error
	switch n.kind {
	case deleteNotification:
		err = i.idx.Delete(n.obj)
	default:
		err = i.idx.Update(n.obj)
	}
	if err == nil {
		return nil
	}
	k := controlloop.KeyOf(n.obj)
	i.log.Error("informer: cache write failed", "key", k, "err", err)
	i.known.mu.Lock()
	defer i.known.mu.Unlock()
	cur, ok := i.known.m[k]
	if n.kind == deleteNotification && ok || n.kind != deleteNotification && (!ok || cur.GetObjectMeta() != n.obj.GetObjectMeta()) {
		return err // moved on
	}
	if obj, ok := i.idx.Get(k); ok {
		i.known.m[k] = obj
	} else {
		delete(i.known.m, k)
	}
	return err
}
