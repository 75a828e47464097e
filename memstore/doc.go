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
// consumer falls more than Options.WatchBuffer changes behind is closed,
// and its consumer watches again; memory stays bounded by the history.
// Watches that ask for them get periodic bookmarks (Options.BookmarkInterval)
// that advance their version past changes their selector filtered out.
//
// # Isolation
//
// Objects are copied on the way in and on the way out: with T's DeepCopy
// method when it has one (DeepCopy() T), otherwise by reflection, which
// copies the exported fields deeply and shares what unexported fields point
// to. A caller mutating an object it passed in or got back never changes
// the store. Stored objects are never modified, so readers copy them
// outside the lock.
//
// # Fault injection
//
// Tests of consumers can break every watch ([Store.BreakWatches]), end
// them with an error ([Store.FailWatches]), make the next List or Watch
// fail ([Store.FailNextList], [Store.FailNextWatch]) and expire history
// ([Store.ExpireHistory], [Store.Compact]).
//
// # Concurrency
//
// All methods of a Store are safe for concurrent use. Each open watch runs
// one goroutine, which ends when the watch's context is done or the watch
// is closed; cancel the context when you stop reading.
package memstore
