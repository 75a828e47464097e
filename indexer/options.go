package indexer

import (
	"fmt"
	"maps"
	"slices"

	"github.com/controlloop/controlloop"
)

// Options configure [New].
type Options[T controlloop.Object] struct {
	// Indexers are the indexes to keep besides [NamespaceIndex]. A name may
	// not be empty or [NamespaceIndex], and a function may not be nil.
	// Defaults to none: only the namespace index.
	Indexers Indexers[T]
}

// validate reports the first index of o (in name order) that breaks a rule.
func (o *Options[T]) validate() error {
	for _, name := range slices.Sorted(maps.Keys(o.Indexers)) {
		if err := validIndex("Options.Indexers", name, o.Indexers[name]); err != nil {
			return err
		}
	}
	return nil
}

// validIndex checks one index given to where (Options.Indexers or
// AddIndexers). The error wraps [controlloop.ErrInvalid], and also
// [ErrIndexExists] for [NamespaceIndex].
func validIndex[T controlloop.Object](where, name string, f IndexFunc[T]) error {
	switch {
	case name == "":
		return fmt.Errorf("indexer: %s has an empty index name: names must not be empty: %w", where, controlloop.ErrInvalid)
	case f == nil:
		return fmt.Errorf("indexer: %s[%q] is nil: an IndexFunc must not be nil: %w", where, name, controlloop.ErrInvalid)
	case name == NamespaceIndex:
		return fmt.Errorf("indexer: %s[%q] is set: the namespace index is always defined: %w: %w", where, name, ErrIndexExists, controlloop.ErrInvalid)
	}
	return nil
}
