// Package memstore is a versioned, in-memory object store that serves List
// and Watch like a small API server: the embedded default backend of
// controlloop, and the fixture its tests run against.
//
// A [Store] holds objects of one type T (a pointer to a struct embedding
// [controlloop.ObjectMeta]) and implements [controlloop.ListerWatcher] and
// [controlloop.Client], failing with the root package's sentinel errors
// ([controlloop.ErrNotFound], [controlloop.ErrAlreadyExists],
// [controlloop.ErrConflict], [controlloop.ErrExpired],
// [controlloop.ErrInvalid]), wrapped with detail.
//
//	store, err := memstore.New[*Pod](memstore.Options{})
//	pod, err := store.Create(ctx, &Pod{ObjectMeta: controlloop.ObjectMeta{Name: "web"}})
//	events, err := store.Watch(ctx, controlloop.WatchOptions{ResourceVersion: pod.ResourceVersion})
//
// [New] refuses invalid [Options] with an error wrapping
// [controlloop.ErrInvalid]; the zero Store is ready to use, with the
// defaults of New(Options{}).
//
// # Versions
//
// The store keeps one counter. Every write (create, update, delete)
// increases it by one and stamps the written object with it; resource
// versions are the counter in decimal, "0" being the empty store. Create
// sets a UID ("uid-" and the creation version) and Generation 1; Update
// increases Generation, UpdateStatus keeps it. Updates are optimistic: the
// object must carry the version it was read at, or the update fails with
// ErrConflict. An empty version is refused (ErrInvalid) rather than taken
// as "overwrite whatever is there", so no update can silently replace a
// state its writer never saw. Delete takes an optional version
// precondition.
//
// # History and watches
//
// The store remembers its last Options.HistorySize changes. A watch from
// version v replays every change after v from that history, in order, with
// no gap and no duplicate, then streams live changes. A version older than
// the window, or removed by [Store.Compact], fails with ErrExpired: the
// consumer lists again. Paged lists read every page at the version of the
// first, and their continue tokens expire the same way.
//
// Each watch has its own goroutine that reads the history from a cursor, so
// a writer never waits for a watcher: it only nudges it. A watcher whose
// consumer falls behind catches up from the shared history, which keeps,
// beyond the last HistorySize changes, those an open watch has yet to
// deliver, up to Options.MaxWatchLag of them: no write the store accepted
// costs a watch that lags by less. Only a watch more than MaxWatchLag
// changes behind ends, with ErrExpired. Memory stays bounded by
// MaxWatchLag changes, and returns to HistorySize once the watchers have
// caught up.
// Watches that ask for them get bookmarks, periodic ones
// (Options.BookmarkInterval) and requested ones ([Store.RequestProgress]),
// that advance their version past changes their selector filtered out; a
// bookmark is sent only once the watch has delivered every change before
// its version.
//
// # Isolation
//
// The store never shares memory with a caller. Objects are copied on the
// way in (Create, Update, UpdateStatus) and on the way out (Get, All, List,
// Watch), and the store never modifies an object it holds, so readers copy
// outside the lock. How T is copied:
//
//   - If T has a DeepCopy method (DeepCopy() T), as generated types do, the
//     store copies with it: objects are as isolated as that method makes
//     them.
//   - Otherwise the store copies by reflection, making new pointers, maps,
//     slices and arrays all the way down through exported struct fields
//     (and through the values held by interfaces); unexported fields that
//     hold no memory (numbers, strings, and structs and arrays of them) and
//     time.Time values are copied as they are. Reflection cannot copy what
//     an unexported field points to, a map key that refers to memory, a
//     channel or a function: [New] refuses a T without DeepCopy holding one
//     of these (a *big.Int is one: its digits sit in an unexported slice),
//     with an error wrapping [controlloop.ErrInvalid] that names the field
//     and asks for a DeepCopy method, and a zero Store of such a T refuses
//     every write with that error. A write whose object holds a pointer
//     cycle, or an interface whose value is such a type, fails with
//     ErrInvalid and stores nothing. Pointers shared within an object
//     become separate copies.
//
// With Options.Codec set, the store keeps instead what a serialising
// backend would: each write is encoded and decoded into a new T, and reads
// copy that. Give it the codec of the backend you deploy on (the etcd
// module's etcd.JSON fits) to test a controller under that backend's
// semantics; package sourcetest's doc lists how they differ.
//
// Package sourcetest's suite, the contract of every source, runs on a
// Store with and without a codec (TestConformance,
// TestConformanceWithCodec).
//
// # Fault injection
//
// Tests of consumers can break every watch ([Store.BreakWatches]), end
// them with an error ([Store.FailWatches]), make the next List or Watch
// fail ([Store.FailNextList], [Store.FailNextWatch]), take the store out
// of reach until told otherwise, as an outage would ([Store.SetUnavailable]:
// watches close, every List and Watch fails, writes go on) and expire
// history ([Store.ExpireHistory], [Store.Compact]).
//
// # Concurrency
//
// All methods of a Store are safe for concurrent use. Each open watch runs
// one goroutine, which ends when the watch's context is done or the watch
// is closed; cancel the context when you stop reading.
package memstore
