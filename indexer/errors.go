package indexer

import "errors"

// Sentinel errors of this package. Test for them with [errors.Is]; the
// returned errors wrap them with the index name.
var (
	// ErrUnknownIndex means no index has the name asked for.
	ErrUnknownIndex = errors.New("indexer: unknown index")
	// ErrIndexExists means an index with that name is already defined.
	ErrIndexExists = errors.New("indexer: index already exists")
	// ErrNotEmpty means AddIndexers was called once the indexer held
	// objects: an index added then would miss them.
	ErrNotEmpty = errors.New("indexer: indexers can only be added while empty")
)
