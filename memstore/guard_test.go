package memstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/memstore"
)

// TestGuarded: a guarded client's writes commit only when the guard calls
// commit; a refusal stores nothing and returns the guard's error; the
// guard runs after the store's own checks; reads are not guarded.
func TestGuarded(t *testing.T) {
	ctx := context.Background()
	s := must(memstore.New[*Pod](memstore.Options{}))
	refuse := errors.New("refused")
	var mu sync.Mutex // protects allow and calls
	allow, calls := true, 0
	c := s.Guarded(func(ctx context.Context, commit func()) error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if !allow {
			return refuse
		}
		commit()
		return nil
	})
	a, err := c.Create(ctx, pod("ns", "a", nil))
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	allow = false
	mu.Unlock()
	before := s.ResourceVersion()
	if _, err := c.Create(ctx, pod("ns", "b", nil)); !errors.Is(err, refuse) {
		t.Errorf("refused Create: %v", err)
	}
	if _, err := c.Update(ctx, a); !errors.Is(err, refuse) {
		t.Errorf("refused Update: %v", err)
	}
	if _, err := c.UpdateStatus(ctx, a); !errors.Is(err, refuse) {
		t.Errorf("refused UpdateStatus: %v", err)
	}
	if err := c.Delete(ctx, controlloop.KeyOf(a), controlloop.DeleteOptions{}); !errors.Is(err, refuse) {
		t.Errorf("refused Delete: %v", err)
	}
	if got := s.ResourceVersion(); got != before || s.Len() != 1 {
		t.Errorf("refused writes changed the store: version %s -> %s, %d objects", before, got, s.Len())
	}
	// The store's own checks come first: a conflict never reaches the guard.
	mu.Lock()
	n := calls
	mu.Unlock()
	stale := *a
	stale.ResourceVersion = "99"
	if _, err := c.Update(ctx, &stale); !errors.Is(err, controlloop.ErrConflict) {
		t.Errorf("stale Update: %v, want ErrConflict", err)
	}
	mu.Lock()
	if calls != n {
		t.Errorf("the guard ran for a write the store refused")
	}
	allow = true
	mu.Unlock()
	if _, err := c.Get(ctx, controlloop.KeyOf(a)); err != nil {
		t.Errorf("Get through the guarded client: %v", err)
	}
	if err := c.Delete(ctx, controlloop.KeyOf(a), controlloop.DeleteOptions{}); err != nil || s.Len() != 0 {
		t.Errorf("allowed Delete: %v, %d objects left", err, s.Len())
	}
}
