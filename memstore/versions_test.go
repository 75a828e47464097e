package memstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/memstore"
)

// TestVersionOrder: a later write compares newer; versions the store could
// not have made are refused; each store is a scope of its own.
func TestVersionOrder(t *testing.T) {
	ctx := context.Background()
	var s, other memstore.Store[*Pod]
	a, err := s.Create(ctx, &Pod{ObjectMeta: controlloop.ObjectMeta{Name: "a"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Update(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		x, y string
		want int
	}{{a.ResourceVersion, b.ResourceVersion, -1}, {b.ResourceVersion, a.ResourceVersion, 1}, {b.ResourceVersion, b.ResourceVersion, 0}, {"9", "10", -1}} {
		got, err := s.CompareVersions(c.x, c.y)
		if err != nil || sign(got) != c.want {
			t.Errorf("CompareVersions(%s, %s) = %d, %v; want sign %d", c.x, c.y, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "01", "x", "-1"} {
		if _, err := s.CompareVersions(bad, "1"); !errors.Is(err, controlloop.ErrInvalid) {
			t.Errorf("CompareVersions(%q, 1): err = %v, want ErrInvalid", bad, err)
		}
	}
	if first := s.VersionScope(); first == other.VersionScope() || first == "" {
		t.Errorf("scopes %q and %q: want one per store", first, other.VersionScope())
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}
