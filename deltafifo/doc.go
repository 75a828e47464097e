// Package deltafifo is the queue between a reflector and an informer: it
// accumulates, per object key, the changes (Deltas) seen by List and Watch,
// and hands each key's whole history to a consumer, oldest key first.
//
// A reflector writes into a [FIFO] through Add, Update, Delete, Replace
// (a relist) and Resync; a consumer calls [FIFO.Pop] with a
// [ProcessFunc]. The semantics are those of client-go's DeltaFIFO, typed:
// a [Delta] always carries a T, and an inferred deletion is a Deleted delta
// with [Delta.FinalStateUnknown] set rather than a wrapper type.
//
// # Contract
//
//   - One slot per key: a key is queued at most once; more deltas for a
//     queued key join its slot and the key keeps its place. Pop hands out
//     the oldest key's Deltas, in the order they happened.
//   - Two consecutive Deleted deltas collapse into one, keeping a real
//     deletion over an inferred one. With Options.CompressUpdates,
//     consecutive Updated and Sync deltas collapse into the newest.
//   - Replace(list) queues a Sync delta (Replaced, with Options.EmitReplaced)
//     per listed object, and for every key the FIFO or
//     Options.KnownObjects holds that the list lacks, a Deleted delta with
//     FinalStateUnknown carrying the newest object known for it.
//   - Resync queues a Sync delta, with the known object, for each key of
//     KnownObjects that has no queued deltas.
//   - Delete of a key the FIFO does not know is a no-op, as in client-go; an
//     object with no name (or a nil one) is refused with an error wrapping
//     [controlloop.ErrInvalid].
//   - HasSynced turns true once every key queued by the first Replace has
//     been popped and processed without error (or at once if another write
//     came first); the process function is told whether a key belongs to
//     that initial list.
//   - Close wakes blocked Pops; keys queued before Close are still handed
//     out, then Pop returns [ErrClosed]. Writes after Close fail with
//     ErrClosed.
//
// # Processing
//
// Pop (and PopBatch, for several keys at once) calls the process function
// without holding the FIFO's lock, so
// writes go on while a key is processed (client-go holds its lock through
// processing). The key is out of the queue meanwhile and is never handed to
// a second Pop: deltas that arrive for it wait in its slot and the key is
// queued at the back once process returns. If process fails, its deltas
// go back in front of the newer ones and the key is queued again at the
// back; Pop returns the error.
//
// While a key is being processed, the consumer is typically updating
// KnownObjects with its deltas; the FIFO then answers for that key from the
// deltas being processed rather than from KnownObjects, which is exactly
// what client-go's locking made KnownObjects say. KnownObjects must change
// only this way (through the process function, for the popped key).
//
// # Concurrency
//
// All methods of a FIFO are safe for concurrent use, and several
// goroutines may Pop at once. Writes never block on a consumer.
//
// # Cost
//
// Writes are O(1) amortised and allocate only the delta list of a new key;
// Pop is O(1), and [FIFO.PopBatch] hands out up to limit keys for the cost
// of one Pop's locking. Replace is O(len(list) + keys held +
// len(KnownObjects)): it queues the list, then tombstones the unlisted
// keys the FIFO holds, then walks KnownObjects for the keys only it holds.
// BenchmarkFIFOAddPop and BenchmarkFIFOReplace in bench/clientgo compare
// these with client-go's DeltaFIFO.
package deltafifo
