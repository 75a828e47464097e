// Package indexer is a thread-safe cache of objects by key with secondary
// indexes: what an informer keeps its view of the world in, and what
// an informer's Reader reads.
//
// An [Indexer] maps each [controlloop.Key] to one object and keeps named
// indexes, each an [IndexFunc] from an object to the values it is filed
// under. [NamespaceIndex] is always present. Writers call Add, Update,
// Delete and Replace, or make several writes at once in a [Txn] through
// [Indexer.Write]; readers call Get and Len, and walk the content with
// iterators, as the standard library's maps.All and maps.Keys do: All,
// List, Keys, ByIndex, IndexKeys and ListIndexValues (slices.Collect makes
// a slice of one).
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
// mutex; readers never take it. Each write (Add, Update, Delete, Replace,
// or a batch of writes in one [Indexer.Write]) builds the new content on
// the side and publishes it with one atomic store when it ends, as
// cilium/statedb's part.Txn.Commit does; a read (Get, Len, or a walk)
// loads the published content and takes no lock, so it never waits for a
// writer, not even for a Replace of the whole content
// (TestReadsTakeNoWritersLock; BenchmarkReadLatencyDuringReplace measures
// the read latency while Replaces run). client-go's ThreadSafeStore, by
// contrast, holds its read lock while it copies a namespace, which holds
// its writers back (BenchmarkIndexerUpdateWithReaders in bench/clientgo
// compares the two).
//
// The content is a persistent hash trie (a CHAMP): a write copies the
// O(log32 n) nodes on its path and shares the rest, and readers walk the
// version that was current when they started. Two refinements keep writes
// cheap:
//
//   - Each key's object sits in a cell shared by every version. An Update
//     that changes no index value (the namespace cannot change: it is part
//     of the key) just stores the new object in the cell: O(1), no copying,
//     and with only the namespace index no allocation (custom indexes
//     add the slices of values computed to check that none changed). Such
//     an update is the one write a reader may see before its batch ends.
//   - The writes of one [Txn] change its draft in place, as a mutable map
//     would: only its first write to a node copies it (TestWriteAllocations).
//     An informer applies each batch of changes it pops in one Txn.
//
// What a walk sees: the keys (and, for ByIndex, the index membership) of
// the version current when it started, each with an object that was that
// key's object at some moment during the walk and that is filed under the
// value asked for. Get, Len and single writes are linearizable.
//
// # Cost
//
// Get is O(log32 n); List and Keys allocate their result once;
// All and ByIndex walk without copying. Add, Update and Delete are
// O(log32 n), or O(1) for an Update that changes no index value. Replace
// builds the new content off to the side in O(len(items)) and publishes it
// atomically. bench/clientgo measures these next to client-go's
// ThreadSafeStore (BenchmarkIndexerUpdate, BenchmarkIndexerAddDelete,
// BenchmarkIndexerGet, BenchmarkIndexerByIndex,
// BenchmarkIndexerBytesPerObject).
package indexer
