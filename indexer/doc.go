// Package indexer is a thread-safe cache of objects by key with secondary
// indexes: what an informer keeps its view of the world in, and what
// Listers read.
//
// An [Indexer] maps each [controlloop.Key] to one object and keeps named
// indexes, each an [IndexFunc] from an object to the values it is filed
// under. [NamespaceIndex] is always present. Writers call Add, Update,
// Delete and Replace; readers call Get, List, Keys, ByIndex, IndexKeys,
// ListIndexValues, or walk with the iterators All and ByIndexSeq.
//
// # Contract
//
//   - Add and Update both store the object under its key, replacing any
//     previous one; Delete removes the key (a missing key is a no-op).
//   - Indexes are exact after every write: an object is filed under exactly
//     the values its IndexFunc returns now (duplicates count once); values
//     it no longer has let go of it, and a value that holds no object is
//     dropped, so ListIndexValues never reports an empty one.
//   - An IndexFunc error (or an invalid object) is returned by the write,
//     which then changes nothing; it never panics.
//   - AddIndexers is refused with [ErrNotEmpty] once the indexer holds an
//     object, and a name already defined with [ErrIndexExists]; reads of an
//     unknown index fail with [ErrUnknownIndex].
//   - Objects are shared, not copied: neither callers nor the indexer may
//     modify an object once it has been handed over.
//
// # Concurrency
//
// All methods are safe for concurrent use. Writers are serialised by a
// mutex. Readers hold no lock for the length of a walk (at most, the first
// read after writes takes the mutex for an O(1) publication), so a reader
// cannot stall writers: client-go's ThreadSafeStore
// holds one RWMutex while it copies a namespace, and ten such readers cut
// its writer to a few thousand updates per second at 10k objects (165/s in
// other measurements); here the writer keeps over a million per second
// (figures below).
//
// The content is a persistent hash trie (a CHAMP): a write copies the
// O(log32 n) nodes on its path and shares the rest, and readers walk the
// version that was current when they started. Two refinements keep writes
// cheap:
//
//   - Each key's object sits in a cell shared by every version. An Update
//     that changes no index value (the namespace cannot change: it is part
//     of the key) just stores the new object in the cell: O(1), one 8-byte
//     allocation, no copying.
//   - Writes that come between two reads change an unpublished draft in
//     place, as a mutable map would; the first read after them publishes it
//     in O(1), and only the first write after a read copies its path.
//
// What a walk sees: the keys (and, for ByIndex, the index membership) of
// the version current when it started, each with an object that was that
// key's object at some moment during the walk and that is filed under the
// value asked for. Get, Len and single writes are linearizable.
//
// # Cost
//
// Measured side by side with client-go v0.37 in bench/clientgo (2 cores
// shared with other work, so single figures swing by tens of percent;
// benchstat medians of 6 interleaved runs):
//
//	                                      controlloop        client-go          ratio
//	Update, 5000 keys, namespace index    83 ns, 1 alloc     236 ns, 3 allocs   2.8x
//	Add+Delete, 5000 keys                 410 ns, 2-3 allocs 541 ns, 4 allocs   1.3x
//	Get by key, 5000 keys                 33 ns, 0 allocs    60 ns, 1 alloc     1.8x
//	ByIndex(namespace), 500 of 5000       4.3 µs             14.8 µs            3.5x
//	heap per cached object, 10k objects   116 B              136 B              -15%
//	Update with 10 namespace readers      2.1M writes/s      3.9k writes/s      537x
//
// Get is O(log32 n); List, Keys and ByIndex allocate their result once;
// All and ByIndexSeq walk without copying. Replace builds the new content
// off to the side in O(n) and publishes it atomically.
package indexer
