package informer_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/informer"
)

// TestAppliedVersion: the applied version follows the list, the watch
// events and the bookmarks, each once the cache holds what came before, and
// each advance closes the channel a waiter holds.
func TestAppliedVersion(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := newStore(t)
		first, err := s.Create(ctx, pod("a", "p0"))
		if err != nil {
			t.Fatal(err)
		}
		inf := newInformer(t, s, quietOpts[*Pod](controlloop.Selector{Namespace: "a"}))
		if v, _ := inf.AppliedVersion(); v != "" {
			t.Fatalf("before Run: AppliedVersion = %q, want \"\"", v)
		}
		if inf.Versions() == nil || inf.Versions().VersionScope() != s.VersionScope() {
			t.Fatalf("Versions() = %v, want the store's comparer", inf.Versions())
		}
		defer start(inf)()
		synctest.Wait()
		v, advanced := inf.AppliedVersion()
		if v != first.ResourceVersion {
			t.Fatalf("after the list: AppliedVersion = %q, want %q", v, first.ResourceVersion)
		}

		p1, err := s.Create(ctx, pod("a", "p1"))
		if err != nil {
			t.Fatal(err)
		}
		<-advanced // blocks for good (synctest fails the test) if no advance wakes it
		synctest.Wait()
		v, advanced = inf.AppliedVersion()
		if v != p1.ResourceVersion {
			t.Fatalf("after an event: AppliedVersion = %q, want %q", v, p1.ResourceVersion)
		}
		if _, err := inf.Reader().Get(controlloop.KeyOf(p1)); err != nil {
			t.Fatalf("AppliedVersion %s reached before the cache held its change: %v", v, err)
		}

		// A write the selector filters out reaches the cache only as a
		// bookmark.
		other, err := s.Create(ctx, pod("b", "q"))
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if v, _ := inf.AppliedVersion(); v != p1.ResourceVersion {
			t.Fatalf("a filtered write moved AppliedVersion to %q with no bookmark", v)
		}
		s.RequestProgress()
		<-advanced
		if v, _ := inf.AppliedVersion(); v != other.ResourceVersion {
			t.Fatalf("after a bookmark: AppliedVersion = %q, want %q", v, other.ResourceVersion)
		}
	})
}

// TestWaitUntil: the condition is checked again when the cache advances,
// and only then: the wait returns once a change makes it true, and with
// ctx's error when ctx ends first.
func TestWaitUntil(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := newStore(t)
		inf := newInformer(t, s, quietOpts[*Pod](controlloop.Selector{}))
		defer start(inf)()
		calls := 0
		has := func(name string) func() bool {
			return func() bool {
				calls++
				_, err := inf.Reader().Get(controlloop.Key{Name: name})
				return err == nil
			}
		}
		done := make(chan error, 1)
		go func() { done <- informer.WaitUntil(ctx, has("p"), inf) }()
		synctest.Wait()
		before := calls
		if _, err := s.Create(ctx, pod("", "other")); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if calls == before {
			t.Error("an advance of the cache did not check the condition again")
		}
		select {
		case err := <-done:
			t.Fatalf("WaitUntil returned %v before the condition held", err)
		default:
		}
		if _, err := s.Create(ctx, pod("", "p")); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatalf("WaitUntil = %v, want nil", err)
		}

		waitCtx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if err := informer.WaitUntil(waitCtx, has("never"), inf); err != context.DeadlineExceeded {
			t.Errorf("WaitUntil = %v, want the deadline", err)
		}
	})
}
