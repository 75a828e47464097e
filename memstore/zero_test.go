package memstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/memstore"
)

// TestZeroStoreFirstCall calls each method first on a zero Store, then
// checks that the store works as New(Options{}) makes it work.
func TestZeroStoreFirstCall(t *testing.T) {
	ctx := context.Background()
	key := controlloop.Key{Name: "x"}
	first := map[string]func(s *memstore.Store[*Pod]) error{
		"Create": func(s *memstore.Store[*Pod]) error { _, err := s.Create(ctx, pod("", "x", nil)); return err },
		"Update": func(s *memstore.Store[*Pod]) error {
			p := pod("", "x", nil)
			p.ResourceVersion = "1"
			if _, err := s.Update(ctx, p); !errors.Is(err, controlloop.ErrNotFound) {
				return err
			}
			return nil
		},
		"UpdateStatus": func(s *memstore.Store[*Pod]) error {
			p := pod("", "x", nil)
			p.ResourceVersion = "1"
			if _, err := s.UpdateStatus(ctx, p); !errors.Is(err, controlloop.ErrNotFound) {
				return err
			}
			return nil
		},
		"Delete": func(s *memstore.Store[*Pod]) error {
			if err := s.Delete(ctx, key, controlloop.DeleteOptions{}); !errors.Is(err, controlloop.ErrNotFound) {
				return err
			}
			return nil
		},
		"Get": func(s *memstore.Store[*Pod]) error {
			if _, err := s.Get(ctx, key); !errors.Is(err, controlloop.ErrNotFound) {
				return err
			}
			return nil
		},
		"List": func(s *memstore.Store[*Pod]) error {
			res, err := s.List(ctx, controlloop.ListOptions{Limit: 1})
			if err == nil && (len(res.Items) != 0 || res.ResourceVersion != "0") {
				err = errors.New("a zero Store lists something")
			}
			return err
		},
		"Watch": func(s *memstore.Store[*Pod]) error {
			wctx, cancel := context.WithCancel(ctx)
			defer cancel()
			_, err := s.Watch(wctx, controlloop.WatchOptions{})
			return err
		},
		"All": func(s *memstore.Store[*Pod]) error {
			for range s.All() {
				return errors.New("a zero Store holds an object")
			}
			return nil
		},
		"Len":             func(s *memstore.Store[*Pod]) error { s.Len(); return nil },
		"ResourceVersion": func(s *memstore.Store[*Pod]) error { s.ResourceVersion(); return nil },
		"Compact":         func(s *memstore.Store[*Pod]) error { return s.Compact("0") },
		"ExpireHistory":   func(s *memstore.Store[*Pod]) error { s.ExpireHistory(); return nil },
		"BreakWatches":    func(s *memstore.Store[*Pod]) error { s.BreakWatches(); return nil },
		"FailWatches":     func(s *memstore.Store[*Pod]) error { s.FailWatches(nil); return nil },
		"FailNextList":    func(s *memstore.Store[*Pod]) error { s.FailNextList(nil); return nil },
		"FailNextWatch":   func(s *memstore.Store[*Pod]) error { s.FailNextWatch(nil); return nil },
		"SetUnavailable":  func(s *memstore.Store[*Pod]) error { s.SetUnavailable(nil); return nil },
	}
	for name, call := range first {
		t.Run(name, func(t *testing.T) {
			var s memstore.Store[*Pod]
			if err := call(&s); err != nil {
				t.Fatalf("%s on a zero Store: %v", name, err)
			}
			checkStoreWorks(t, &s)
		})
	}
}

// checkStoreWorks writes, watches and lists through s, whatever it held.
func checkStoreWorks(t *testing.T, s *memstore.Store[*Pod]) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := s.Watch(ctx, controlloop.WatchOptions{ResourceVersion: s.ResourceVersion()})
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	created := mustCreate(t, s, pod("", "works", nil))
	created.Spec = "changed"
	if _, err := s.Update(ctx, created); err != nil {
		t.Fatalf("Update: %v", err)
	}
	for _, want := range []controlloop.EventType{controlloop.Added, controlloop.Modified} {
		if ev, ok := next(t, w); !ok || ev.Type != want || ev.Object.Name != "works" {
			t.Fatalf("watch event %+v, %v; want %v of works", ev, ok, want)
		}
	}
	res, err := s.List(ctx, controlloop.ListOptions{})
	if err != nil || len(res.Items) != s.Len() {
		t.Fatalf("List = %d items, %v; Len = %d", len(res.Items), err, s.Len())
	}
}

// TestZeroStoreConcurrentFirstUse has goroutines race to set up a zero
// Store; run it under -race.
func TestZeroStoreConcurrentFirstUse(t *testing.T) {
	ctx := context.Background()
	for range 200 {
		var s memstore.Store[*Pod]
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Go(func() {
				<-start
				if _, err := s.Create(ctx, pod("", string(rune('a'+i)), nil)); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Go(func() {
			<-start
			wctx, cancel := context.WithCancel(ctx)
			defer cancel()
			if _, err := s.Watch(wctx, controlloop.WatchOptions{}); err != nil {
				t.Error(err)
			}
		})
		close(start)
		wg.Wait()
		if s.Len() != 4 {
			t.Fatalf("Len = %d after 4 creates", s.Len())
		}
	}
}

// TestZeroStoreOfValueTypeRefusesWrites checks that a zero Store whose T is
// not a pointer type refuses every write with New's error.
func TestZeroStoreOfValueTypeRefusesWrites(t *testing.T) {
	ctx := context.Background()
	var s memstore.Store[Plain]
	_, want := memstore.New[Plain](memstore.Options{})
	p := Plain{ObjectMeta: controlloop.ObjectMeta{Name: "p", ResourceVersion: "1"}}
	for name, write := range map[string]func() error{
		"Create": func() error {
			_, err := s.Create(ctx, Plain{ObjectMeta: controlloop.ObjectMeta{Name: "p"}})
			return err
		},
		"Update":       func() error { _, err := s.Update(ctx, p); return err },
		"UpdateStatus": func() error { _, err := s.UpdateStatus(ctx, p); return err },
		"Delete":       func() error { return s.Delete(ctx, controlloop.Key{Name: "p"}, controlloop.DeleteOptions{}) },
	} {
		if err := write(); !errors.Is(err, controlloop.ErrInvalid) || err.Error() != want.Error() {
			t.Errorf("%s = %v, want %v", name, err, want)
		}
	}
	if s.Len() != 0 {
		t.Fatalf("Len = %d", s.Len())
	}
}
