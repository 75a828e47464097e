package memstore_test

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/memstore"
	"github.com/google/go-cmp/cmp"
)

// TestRequestProgress checks that RequestProgress gives every watch that
// allowed bookmarks one Bookmark at the version it has been brought to,
// once it has delivered every change before it, and only when that
// version moved; watches that did not allow bookmarks get none.
func TestRequestProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		s := must(memstore.New[*Pod](memstore.Options{}))
		for i := range 50 {
			mustCreate(t, s, pod("mine", fmt.Sprintf("p%02d", i), nil)) // 1..50
		}
		mustCreate(t, s, pod("other", "x", nil)) // 51, filtered out
		sel := controlloop.Selector{Namespace: "mine"}
		// Asked for progress before it has replayed anything: the bookmark
		// comes after the 50 changes, at 51.
		replaying := must(s.Watch(ctx, controlloop.WatchOptions{Selector: sel, ResourceVersion: "0", AllowBookmarks: true}))
		plain := must(s.Watch(ctx, controlloop.WatchOptions{Selector: sel, ResourceVersion: "0"}))
		s.RequestProgress()
		got := summary(collect(t, replaying, 51))
		if diff := cmp.Diff(evSummary{"Bookmark", "", "51"}, got[50]); diff != "" {
			t.Errorf("event after the replay (-want +got):\n%s", diff)
		}
		for i, ev := range got[:50] {
			if ev.Type != "Added" || ev.RV != fmt.Sprint(i+1) {
				t.Fatalf("event %d = %+v, want Added at %d: a bookmark overtook the replay", i, ev, i+1)
			}
		}
		collect(t, plain, 50)

		// Nothing moved since: a request sends nothing.
		s.RequestProgress()
		synctest.Wait()
		for name, ch := range map[string]<-chan controlloop.Event[*Pod]{"bookmarks": replaying, "plain": plain} {
			select {
			case ev := <-ch:
				t.Errorf("watch %s: %+v with nothing new", name, ev)
			default:
			}
		}

		mustCreate(t, s, pod("other", "y", nil)) // 52, filtered out
		s.RequestProgress()
		if ev := <-replaying; ev.Type != controlloop.Bookmark || ev.ResourceVersion != "52" {
			t.Errorf("after a filtered change, got %+v, want a Bookmark at 52", ev)
		}
		synctest.Wait()
		select {
		case ev := <-plain:
			t.Errorf("watch without bookmarks got %+v", ev)
		default:
		}
	})
}
