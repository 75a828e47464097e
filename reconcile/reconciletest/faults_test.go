package reconciletest_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/reconcile/reconciletest"
)

func newCounter(name string) *Counter {
	return &Counter{ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: name}}
}

// TestWriteFaults: each write fault of a Store applies to the next writes
// through its Client, and to no other: a conflict or a failure writes
// nothing, a lost reply writes but says it failed.
func TestWriteFaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := reconciletest.New(t, reconciletest.Options{})
		s := reconciletest.NewStore[*Counter](w, "counters", memstore.Options{})
		c := s.Client()
		ctx := context.Background()
		x, err := c.Create(ctx, newCounter("x"))
		if err != nil {
			t.Fatal(err)
		}

		s.ConflictWrites(1)
		if _, err := c.Create(ctx, newCounter("y")); err != nil {
			t.Fatalf("a create under ConflictWrites = %v: creates do not conflict", err)
		}
		x.Times = 1
		if _, err := c.UpdateStatus(ctx, x); !errors.Is(err, controlloop.ErrConflict) || !errors.Is(err, reconciletest.ErrInjected) {
			t.Fatalf("an update under ConflictWrites = %v, want an injected ErrConflict", err)
		}
		if got, _ := s.Get(ctx, controlloop.KeyOf(x)); got.Times != 0 {
			t.Fatal("a conflicting update was written")
		}
		if x, err = c.Update(ctx, x); err != nil {
			t.Fatalf("the second update = %v: ConflictWrites(1) is one conflict", err)
		}

		s.FailWrites(2)
		if _, err := c.Create(ctx, newCounter("z")); !errors.Is(err, reconciletest.ErrInjected) {
			t.Fatalf("a create under FailWrites = %v", err)
		}
		if err := c.Delete(ctx, controlloop.KeyOf(x), controlloop.DeleteOptions{}); !errors.Is(err, reconciletest.ErrInjected) {
			t.Fatalf("a delete under FailWrites = %v", err)
		}
		if _, err := s.Get(ctx, controlloop.KeyOf(x)); err != nil || s.Len() != 2 {
			t.Fatalf("failed writes were made: x %v, %d objects", err, s.Len())
		}
		// The test's own writes, through the store itself, take no fault.
		s.FailWrites(1)
		if _, err := s.Create(ctx, newCounter("direct")); err != nil {
			t.Fatalf("a write through the store = %v under FailWrites", err)
		}
		s.FailWrites(0)

		s.LoseReplies(1)
		if _, err := c.Create(ctx, newCounter("lost")); !errors.Is(err, reconciletest.ErrInjected) {
			t.Fatalf("a create under LoseReplies = %v", err)
		}
		if _, err := s.Get(ctx, controlloop.Key{Namespace: "ns", Name: "lost"}); err != nil {
			t.Fatalf("a create whose reply was lost was not made: %v", err)
		}

		s.FailWrites(3)
		s.Heal()
		if _, err := c.Create(ctx, newCounter("healed")); err != nil {
			t.Fatalf("a create after Heal = %v", err)
		}
	})
}

// watch opens a watch through c from the current version, and returns
// the events it delivers, as they come.
func watch(t *testing.T, s *reconciletest.Store[*Counter]) <-chan controlloop.Event[*Counter] {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ch, err := s.Client().Watch(ctx, controlloop.WatchOptions{ResourceVersion: s.ResourceVersion()})
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// TestEventFaults: DelayEvents holds a watch's events, in order, until the
// delay is over (or Heal); DuplicateEvents delivers events twice.
func TestEventFaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := reconciletest.New(t, reconciletest.Options{})
		s := reconciletest.NewStore[*Counter](w, "counters", memstore.Options{})
		ch := watch(t, s)
		ctx := context.Background()
		received := func() (names []string) {
			for {
				synctest.Wait()
				select {
				case ev := <-ch:
					names = append(names, ev.Object.Name)
				default:
					return names
				}
			}
		}

		s.DelayEvents(time.Second)
		for _, name := range []string{"a", "b"} {
			if _, err := s.Create(ctx, newCounter(name)); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(time.Second - time.Nanosecond)
		if got := received(); len(got) != 0 {
			t.Fatalf("received %v before the delay was over", got)
		}
		time.Sleep(time.Nanosecond)
		if got := received(); len(got) != 2 || got[0] != "a" || got[1] != "b" {
			t.Fatalf("after the delay, received %v, want [a b]", got)
		}

		// A second hold, longer, keeps what the first held.
		s.DelayEvents(time.Second)
		if _, err := s.Create(ctx, newCounter("held")); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		s.DelayEvents(time.Minute)
		time.Sleep(time.Minute - time.Nanosecond)
		if got := received(); len(got) != 0 {
			t.Fatalf("received %v before the hold that replaced the first was over", got)
		}
		time.Sleep(time.Nanosecond)
		if got := received(); len(got) != 1 || got[0] != "held" {
			t.Fatalf("after the second hold, received %v, want [held]", got)
		}

		s.DelayEvents(time.Hour)
		if _, err := s.Create(ctx, newCounter("c")); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		s.Heal()
		if got := received(); len(got) != 1 || got[0] != "c" {
			t.Fatalf("after Heal, received %v, want [c]", got)
		}

		s.DuplicateEvents(1)
		for _, name := range []string{"d", "e"} {
			if _, err := s.Create(ctx, newCounter(name)); err != nil {
				t.Fatal(err)
			}
		}
		if got := received(); len(got) != 3 || got[0] != "d" || got[1] != "d" || got[2] != "e" {
			t.Fatalf("with one duplicate, received %v, want [d d e]", got)
		}
	})
}

// TestOutage: during an Outage, List fails and watches end; after it, they
// work again.
func TestOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := reconciletest.New(t, reconciletest.Options{})
		s := reconciletest.NewStore[*Counter](w, "counters", memstore.Options{})
		ch := watch(t, s)
		s.Outage(5 * time.Second)
		synctest.Wait()
		if _, ok := <-ch; ok {
			t.Fatal("a watch outlived the outage's start")
		}
		ctx := context.Background()
		if _, err := s.Client().List(ctx, controlloop.ListOptions{}); !errors.Is(err, reconciletest.ErrInjected) {
			t.Fatalf("List during an outage = %v", err)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait() // the outage's timer ends it
		if _, err := s.Client().List(ctx, controlloop.ListOptions{}); err != nil {
			t.Fatalf("List after the outage = %v", err)
		}
	})
}

// TestLoseLeadershipWithoutCandidates: a World that handed out no
// candidate ignores LoseLeadership, so that a candidate asked for later
// leads at once.
func TestLoseLeadershipWithoutCandidates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := reconciletest.New(t, reconciletest.Options{})
		w.LoseLeadership(time.Hour)
		synctest.Wait()
		if leader := w.Leader(); leader != "" {
			t.Fatalf("after LoseLeadership in a World without candidates, %q leads", leader)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := w.Elector("late").Lead(ctx); err != nil {
			t.Fatalf("a candidate asked for afterwards does not lead at once: %v", err)
		}
	})
}

// TestLoseLeadership: the leader loses leadership for the gap, nobody
// leads meanwhile (the kit does), and then it leads again.
func TestLoseLeadership(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := reconciletest.New(t, reconciletest.Options{})
		elector := w.Elector("replica-0")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		terms := make(chan context.Context, 10)
		go func() {
			for {
				leadCtx, err := elector.Lead(ctx)
				if err != nil {
					return
				}
				terms <- leadCtx
				<-leadCtx.Done()
			}
		}()
		first := <-terms
		w.LoseLeadership(time.Minute)
		synctest.Wait()
		if first.Err() == nil || w.Leader() == "replica-0" {
			t.Fatalf("replica-0 still leads after LoseLeadership (leader %q)", w.Leader())
		}
		time.Sleep(time.Minute - time.Nanosecond)
		if len(terms) != 0 {
			t.Fatal("replica-0 led again during the gap")
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if len(terms) != 1 || w.Leader() != "replica-0" {
			t.Fatalf("after the gap, %q leads, want replica-0", w.Leader())
		}
	})
}
