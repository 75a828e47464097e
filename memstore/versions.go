package memstore

import (
	"cmp"
	"fmt"

	"github.com/controlloop/controlloop"
)

var _ controlloop.VersionComparer = (*Store[*versioned])(nil)

type versioned struct{ controlloop.ObjectMeta }

// VersionScope returns a name unique to s among the stores alive in this
// process: the versions of one Store form one sequence, those of two
// stores (of one type or of two) are unrelated.
func (s *Store[T]) VersionScope() string { return fmt.Sprintf("memstore:%p", s) }

// CompareVersions compares two of the store's versions, which are decimal
// numbers that grow by one with each write. A version the store could not
// have made ("", "01", "x") yields an error wrapping
// [controlloop.ErrInvalid].
func (s *Store[T]) CompareVersions(a, b string) (int, error) {
	x, err := parseRV(a)
	if err != nil {
		return 0, err
	}
	y, err := parseRV(b)
	if err != nil {
		return 0, err
	}
	return cmp.Compare(x, y), nil
}
