package memstore_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/memstore"
	"github.com/google/go-cmp/cmp"
)

// TestBookmarks checks that a watch that asked for bookmarks learns, every
// BookmarkInterval, the version it has been brought to past changes its
// selector filtered out, and that bookmarks stop when nothing moved.
func TestBookmarks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		s := must(memstore.New[*Pod](memstore.Options{BookmarkInterval: time.Minute}))
		sel := controlloop.Selector{Namespace: "mine"}
		ch, err := s.Watch(ctx, controlloop.WatchOptions{Selector: sel, AllowBookmarks: true})
		if err != nil {
			t.Fatal(err)
		}
		plain, err := s.Watch(ctx, controlloop.WatchOptions{Selector: sel})
		if err != nil {
			t.Fatal(err)
		}
		mustCreate(t, s, pod("other", "a", nil)) // 1, filtered out
		mustCreate(t, s, pod("other", "b", nil)) // 2, filtered out
		start := time.Now()

		ev := <-ch
		if diff := cmp.Diff(evSummary{"Bookmark", "", "2"}, summary([]controlloop.Event[*Pod]{ev})[0]); diff != "" {
			t.Errorf("first event (-want +got):\n%s", diff)
		}
		if waited := time.Since(start); waited != time.Minute {
			t.Errorf("bookmark after %v, want 1m", waited)
		}

		// Nothing moved: the next tick sends nothing.
		time.Sleep(90 * time.Second)
		synctest.Wait()
		select {
		case ev := <-ch:
			t.Errorf("bookmark with nothing new: %+v", ev)
		default:
		}

		mustCreate(t, s, pod("mine", "c", nil)) // 3, delivered
		if ev := <-ch; ev.Type != controlloop.Added || ev.ResourceVersion != "3" {
			t.Errorf("got %+v, want Added at 3", ev)
		}
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		select {
		case ev := <-ch:
			t.Errorf("bookmark repeating a delivered version: %+v", ev)
		default:
		}
		// The watch that did not ask gets no bookmark, only its event.
		if ev := <-plain; ev.Type != controlloop.Added {
			t.Errorf("plain watch got %+v first, want Added", ev)
		}
		select {
		case ev := <-plain:
			t.Errorf("plain watch got %+v", ev)
		default:
		}
	})
}
