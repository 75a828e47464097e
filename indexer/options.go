package indexer

import (
	"fmt"

	"github.com/controlloop/controlloop"
)

// Options configure [New].
type Options[T controlloop.Object] struct {
	// Indexers are the indexes to keep besides [NamespaceIndex]. A name may
	// not be empty or [NamespaceIndex], and a function may not be nil.
	// Defaults to none: only the namespace index.
	Indexers Indexers[T]
}

func (o *Options[T]) validate() error {
	for name, f := range o.Indexers {
		if err := validIndex(name, f); err != nil {
			return fmt.Errorf("%T.Indexers: %w", *o, err)
		}
	}
	return nil
}

func validIndex[T controlloop.Object](name string, f IndexFunc[T]) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty index name", controlloop.ErrInvalid)
	case f == nil:
		return fmt.Errorf("%w: nil IndexFunc for index %q", controlloop.ErrInvalid, name)
	case name == NamespaceIndex:
		return fmt.Errorf("%w: %q is always defined", ErrIndexExists, name)
	}
	return nil
}
