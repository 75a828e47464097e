package etcd

import (
	"cmp"
	"fmt"

	"github.com/controlloop/controlloop"
)

var _ controlloop.VersionComparer = (*Source[*probe])(nil)

// VersionScope returns a name shared by every Source made over the same
// client, whatever its prefix or type: a resource version is an etcd
// revision, and revisions are global to the cluster, so versions from any
// two of them compare. Sources over two clients get two scopes, even when
// the clients reach one cluster: that costs a wait for a cache that would
// compare, never a wrong comparison.
func (s *Source[T]) VersionScope() string { return fmt.Sprintf("etcd:%p", s.client) }

// CompareVersions compares two resource versions, which are etcd
// revisions. A version that is not a positive decimal revision yields an
// error wrapping [controlloop.ErrInvalid].
func (s *Source[T]) CompareVersions(a, b string) (int, error) {
	x, err := parseRev(a)
	if err != nil {
		return 0, fmt.Errorf("etcd: CompareVersions: %w", err)
	}
	y, err := parseRev(b)
	if err != nil {
		return 0, fmt.Errorf("etcd: CompareVersions: %w", err)
	}
	return cmp.Compare(x, y), nil
}
