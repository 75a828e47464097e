package etcd_test

import (
	"errors"
	"testing"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/etcd/etcdtest"
)

// TestVersionOrder: revisions are global to the cluster, so writes under
// two prefixes through one client compare in the order they were made, and
// share a scope; a second client is a scope of its own; a version that is
// not a revision is refused.
func TestVersionOrder(t *testing.T) {
	e := newEnv(t, etcdtest.Options{})
	ctx := testContext(t, 30*time.Second)
	other := newSource(t, e.client)
	first, err := e.src.Create(ctx, pod("ns", "a", nil))
	if err != nil {
		t.Fatal(err)
	}
	second, err := other.Create(ctx, pod("ns", "b", nil))
	if err != nil {
		t.Fatal(err)
	}
	if c, err := e.src.CompareVersions(first.ResourceVersion, second.ResourceVersion); err != nil || c >= 0 {
		t.Errorf("CompareVersions(%s, %s) = %d, %v; want the first write older", first.ResourceVersion, second.ResourceVersion, c, err)
	}
	if c, err := other.CompareVersions(second.ResourceVersion, first.ResourceVersion); err != nil || c <= 0 {
		t.Errorf("CompareVersions(%s, %s) = %d, %v; want the second write newer", second.ResourceVersion, first.ResourceVersion, c, err)
	}
	if e.src.VersionScope() != other.VersionScope() {
		t.Errorf("two prefixes over one client: scopes %q and %q, want one", e.src.VersionScope(), other.VersionScope())
	}
	if apart := newSource(t, e.srv.Client(t)); apart.VersionScope() == e.src.VersionScope() {
		t.Errorf("a second client shares the scope %q", apart.VersionScope())
	}
	for _, bad := range []string{"", "0", "x", "-3"} {
		if _, err := e.src.CompareVersions(bad, "1"); !errors.Is(err, controlloop.ErrInvalid) {
			t.Errorf("CompareVersions(%q, 1): err = %v, want ErrInvalid", bad, err)
		}
	}
}
