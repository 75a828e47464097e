// Package sourcetest is the contract of a controlloop source, as a test
// suite that any implementation of [controlloop.ListerWatcher] and
// [controlloop.Client] runs from its own tests: package memstore and the
// etcd module run it, and so can a backend of your own (a SQL table, a
// cloud API).
//
//	func TestConformance(t *testing.T) {
//		sourcetest.Run(t, sourcetest.Options[*sourcetest.Object]{
//			New: func() (sourcetest.Backend[*sourcetest.Object], error) {
//				return mybackend.New[*sourcetest.Object](db, newTableName())
//			},
//		})
//	}
//
// [Run] checks each rule as a subtest named for it, against a new backend
// from Options.New; [Check] does the same outside a test and returns the
// failures as an error. A backend generic over its object type runs the
// suite with T = *[Object], whose samples probe what an encoding keeps; a
// backend of one type runs it with that type and samples of its own
// (Options.Samples).
//
// # The contract
//
// Writes (rules Create, Get, Update, UpdateStatus, Delete,
// CancelledContext):
//
//   - Create stores a new object and returns it as stored: with a new,
//     non-empty resource version, a UID and Generation 1, whatever the
//     caller set there. A taken key fails with [controlloop.ErrAlreadyExists];
//     a nil object, an invalid key or an object that already carries a
//     version fail with [controlloop.ErrInvalid].
//   - Get returns the stored object, or fails with [controlloop.ErrNotFound]
//     (an invalid key with ErrInvalid). Objects in different namespaces
//     with one name are different objects.
//   - Update needs the version the object was read at: a stale version, or
//     a set UID other than the stored one, fails with
//     [controlloop.ErrConflict]; a missing object with ErrNotFound; an
//     empty version with ErrInvalid (it is never an unconditional write).
//     It makes a new version even when nothing changed, keeps the UID and
//     increases Generation by one, whatever the caller set there.
//     UpdateStatus is Update that keeps Generation.
//   - Delete removes the object; a missing one fails with ErrNotFound; a
//     version precondition that does not hold fails with ErrConflict and
//     deletes nothing. An object created again under the name is a new
//     object: a new UID, Generation 1, and the old versions conflict.
//   - No write modifies its argument, no object returned shares memory
//     with what is stored, and every call with a cancelled context fails
//     without writing.
//
// Lists (rules ListOrder, ListSelectors, ListPages, ListPagesConsistent,
// ListBadInput, ListExpired):
//
//   - List returns every selected object once, in Options.Order, at a
//     resource version (also for an empty result). A namespace selects that
//     namespace only, labels select objects that carry every one of them.
//   - With a limit, pages hold at most that many objects; every page but
//     the last carries a continue token and at least one object; every page
//     carries the first page's version and shows the objects as they were
//     then, whatever was written meanwhile.
//   - A negative limit, a malformed token, a token used with another
//     namespace and a namespace containing '/' fail with ErrInvalid; a
//     token whose version has expired fails with [controlloop.ErrExpired].
//
// Watches (rules WatchFromList, WatchFromNow, WatchResume, WatchSelectors,
// WatchBadInput, WatchEndsWithContext, WatchExpired, NoBookmarksUnasked,
// Bookmarks, BookmarksDuringReplay):
//
//   - A watch from version v delivers every change after v, in the order
//     of the writes, each once: Added, Modified (by Update and
//     UpdateStatus) or Deleted, carrying the state the write left (for a
//     delete, the last state), stamped with the write's version, which is
//     also the event's. A watch from any event's version delivers exactly
//     the changes after it. A watch from no version delivers the changes
//     made after Watch returned.
//   - Under a selector, a watch delivers only changes of selected objects; a
//     change that brings an object into a label selector is Added, one that
//     takes it out is Deleted, carrying the state it had.
//   - A malformed version and a namespace containing '/' fail with
//     ErrInvalid, an expired version with ErrExpired: at once, or as the
//     watch's only event, an Error, before its channel closes. A watch from
//     the version up to which history was discarded still works.
//   - Cancelling a watch's context closes its channel, even with changes
//     its consumer has not read.
//   - A watch that did not allow bookmarks gets none. One that did gets
//     them only at versions it has delivered every change up to: what it
//     saw before a Bookmark, and what a watch resumed from the Bookmark's
//     version sees, are together every change, each once. That holds for a
//     watch asked for progress while it replays history, too.
//
// Round trips (rule RoundTrip): every sample, and objects whose metadata
// has nil, empty and large labels and owner references, read back from
// Create, Get, List, Watch and Update as written, except for the
// store-owned version, UID and Generation, and for the declared
// [Differences]. Times compare as instants (their location and monotonic
// reading may go). Pointers shared within an object may come back as
// separate copies.
//
// Random sequences (rule Model): creates, updates, status updates,
// deletes (with current, stale and no preconditions), gets and paged
// lists, drawn at random over a few keys and checked after every step
// against a map; watches with four selectors, opened before the writes,
// and one opened afterwards from a random version, must see what the log
// of writes says.
//
// The rules of expiry need Options.Compact, those of bookmarks
// Options.Progress: without them, those rules are not run.
//
// # Known differences between backends
//
// The round trip through an encoding loses what the encoding cannot say.
// Declared differences are checked: a backend that declares one must show
// it, so a declaration stays true. The rows below that the suite cannot
// run (types one backend refuses) are checked by the etcd module's
// TestKnownDifferences.
//
//	                               memstore   memstore, Codec etcd.JSON   etcd (JSON codec)
//	unexported fields              kept       dropped                     dropped
//	empty maps and slices          kept       nil (omitempty)             nil (omitempty)
//	List order                     KeyOrder   KeyOrder                    PathOrder
//	a chan field                   New refuses the type                   every write refused
//	an unexported pointer field    New refuses the type                   dropped
//	a string not valid UTF-8       kept       refused (ErrInvalid)        refused (ErrInvalid)
//
// To test a controller under a serialising backend's semantics without
// running one, give package memstore the backend's codec (memstore's
// Options.Codec; the etcd module's etcd.JSON fits).
//
// # Cost
//
// Each rule makes a new backend and a few dozen writes; the Model rule
// makes about 40 per sequence (Options.Sequences, 20 by default). Waits
// end on the awaited event, not on a timer, except that the bookmark
// rules ask again for progress every 250ms while none has come, as a
// backend may ignore a request it cannot answer yet.
package sourcetest
