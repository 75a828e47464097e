package sourcetest_test

import (
	"context"
	"fmt"

	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/sourcetest"
)

// A backend runs the suite from its tests with Run; Check does the same
// anywhere and returns what does not conform. Here the backend is
// memstore, told how to expire history and to ask for bookmarks, so that
// those rules run too.
func Example() {
	type store = *memstore.Store[*sourcetest.Object]
	err := sourcetest.Check(sourcetest.Options[*sourcetest.Object]{
		New: func() (sourcetest.Backend[*sourcetest.Object], error) {
			return memstore.New[*sourcetest.Object](memstore.Options{})
		},
		Compact: func(_ context.Context, b sourcetest.Backend[*sourcetest.Object], rv string) error {
			return b.(store).Compact(rv)
		},
		Progress: func(_ context.Context, b sourcetest.Backend[*sourcetest.Object]) error {
			b.(store).RequestProgress()
			return nil
		},
	})
	fmt.Println("conforms:", err == nil)

	// Declaring a difference the backend does not have is a failure too.
	err = sourcetest.Check(sourcetest.Options[*sourcetest.Object]{
		New: func() (sourcetest.Backend[*sourcetest.Object], error) {
			return memstore.New[*sourcetest.Object](memstore.Options{})
		},
		Differences: sourcetest.Differences{UnexportedFieldsDropped: true},
	})
	fmt.Println(err != nil)
	// Output:
	// conforms: true
	// true
}
