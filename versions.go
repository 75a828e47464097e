package controlloop

// VersionComparer is implemented by sources (a [ListerWatcher], a
// [Client]) whose resource versions are ordered: a later change always
// carries a greater version. Resource versions stay opaque strings to
// everything else; only the source that stamped two versions can say which
// is newer, and only within its scope.
//
// Versions can be compared when they come from sources of one scope: two
// sources whose VersionScope is equal stamp their versions from one
// sequence. package memstore's scope is one Store (two stores of different
// types count separately); package etcd's is every Source made over one
// etcd client, whatever its prefix, since etcd revisions are global per
// cluster. Versions of different scopes mean nothing to each other.
//
// Package reconcile uses it to wait until a cache has caught up with a
// controller's own writes, and to tell when a reconcile read a cache at a
// given version.
type VersionComparer interface {
	// VersionScope names the sequence the source's versions come from. It
	// is not empty, and stays the same for the source's life.
	VersionScope() string
	// CompareVersions returns a negative number when a is older than b,
	// zero when they are the same version, and a positive one when a is
	// newer. A string that is not a version of this scope yields an error
	// wrapping [ErrInvalid].
	CompareVersions(a, b string) (int, error)
}
