package etcd_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/etcd/etcdtest"
)

const wait = 10 * time.Second

// TestWatchFromRevision: a watch from a version delivers exactly the
// changes after it, in order, with their types and versions.
func TestWatchFromRevision(t *testing.T) {
	e := newEnv(t, etcdtest.Options{})
	ctx := testContext(t, 30*time.Second)
	a, err := e.src.Create(ctx, pod("ns", "a", nil))
	if err != nil {
		t.Fatal(err)
	}
	from := a.ResourceVersion
	b, err := e.src.Create(ctx, pod("ns", "b", nil))
	if err != nil {
		t.Fatal(err)
	}
	a.Spec = "x"
	a2, err := e.src.Update(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.src.Delete(ctx, controlloop.KeyOf(b), controlloop.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// Another prefix's writes are not seen.
	other := newSource(t, e.client)
	if _, err := other.Create(ctx, pod("ns", "a", nil)); err != nil {
		t.Fatal(err)
	}

	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch, err := e.src.Watch(wctx, controlloop.WatchOptions{ResourceVersion: from})
	if err != nil {
		t.Fatal(err)
	}
	ev := next(t, ch, wait)
	if ev.Type != controlloop.Added || keyOf(ev.Object) != "ns/b" || ev.ResourceVersion != b.ResourceVersion {
		t.Errorf("1st event %v %s at %s, want Added ns/b at %s", ev.Type, keyOf(ev.Object), ev.ResourceVersion, b.ResourceVersion)
	}
	ev = next(t, ch, wait)
	if ev.Type != controlloop.Modified || ev.Object.Spec != "x" || ev.Object.Generation != 2 || ev.ResourceVersion != a2.ResourceVersion {
		t.Errorf("2nd event %v %+v, want Modified ns/a spec x generation 2 at %s", ev.Type, ev.Object, a2.ResourceVersion)
	}
	ev = next(t, ch, wait)
	del, _ := strconv.Atoi(a2.ResourceVersion)
	if ev.Type != controlloop.Deleted || keyOf(ev.Object) != "ns/b" || ev.ResourceVersion != strconv.Itoa(del+1) || ev.Object.ResourceVersion != ev.ResourceVersion || ev.Object.UID != b.UID {
		t.Errorf("3rd event %v %+v at %s, want Deleted ns/b with its last state stamped %d", ev.Type, ev.Object.ObjectMeta, ev.ResourceVersion, del+1)
	}
	quiet(t, ch, 200*time.Millisecond)

	// Live changes follow.
	c, err := e.src.Create(ctx, pod("ns", "c", nil))
	if err != nil {
		t.Fatal(err)
	}
	if ev := next(t, ch, wait); ev.Type != controlloop.Added || ev.ResourceVersion != c.ResourceVersion {
		t.Errorf("live event %v at %s, want Added at %s", ev.Type, ev.ResourceVersion, c.ResourceVersion)
	}

	// Cancelling the context closes the channel.
	cancel()
	closed := make(chan struct{})
	go func() {
		for range ch {
		}
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(wait):
		t.Fatal("channel not closed after cancel")
	}
}

// TestWatchFromNow: an empty version watches from the current revision,
// never replaying earlier changes.
func TestWatchFromNow(t *testing.T) {
	e := newEnv(t, etcdtest.Options{})
	ctx := testContext(t, 30*time.Second)
	if _, err := e.src.Create(ctx, pod("", "old", nil)); err != nil {
		t.Fatal(err)
	}
	ch, err := e.src.Watch(ctx, controlloop.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.src.Create(ctx, pod("", "new", nil)); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, ch, wait); ev.Type != controlloop.Added || ev.Object.Name != "new" {
		t.Errorf("got %v %s, want Added new", ev.Type, keyOf(ev.Object))
	}
}

// TestWatchSelector: a namespace selects a key range; under a label
// selector, changes that enter it are Added and changes that leave it
// Deleted, carrying the state before the change.
func TestWatchSelector(t *testing.T) {
	e := newEnv(t, etcdtest.Options{})
	ctx := testContext(t, 30*time.Second)
	web := map[string]string{"app": "web"}
	ch, err := e.src.Watch(ctx, controlloop.WatchOptions{Selector: controlloop.Selector{Namespace: "ns", Labels: web}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.src.Create(ctx, pod("other", "a", web)); err != nil { // other namespace
		t.Fatal(err)
	}
	b, err := e.src.Create(ctx, pod("ns", "b", nil)) // no label
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.src.Create(ctx, pod("ns", "a", web))
	if err != nil {
		t.Fatal(err)
	}
	expect := func(typ controlloop.EventType, name, rv string) *Pod {
		t.Helper()
		ev := next(t, ch, wait)
		if ev.Type != typ || keyOf(ev.Object) != "ns/"+name || ev.ResourceVersion != rv || ev.Object.ResourceVersion != rv {
			t.Fatalf("got %v %s at %s (object at %s), want %v ns/%s at %s", ev.Type, keyOf(ev.Object), ev.ResourceVersion, ev.Object.ResourceVersion, typ, name, rv)
		}
		return ev.Object
	}
	expect(controlloop.Added, "a", a.ResourceVersion)

	a.Labels = map[string]string{"app": "db"} // leaves
	a2, err := e.src.Update(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if got := expect(controlloop.Deleted, "a", a2.ResourceVersion); got.Labels["app"] != "web" {
		t.Errorf("Deleted on leaving carries labels %v, want the state before the change", got.Labels)
	}
	b.Labels = web // enters
	b2, err := e.src.Update(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	expect(controlloop.Added, "b", b2.ResourceVersion)
	a2.Spec = "unseen" // stays out
	if _, err := e.src.Update(ctx, a2); err != nil {
		t.Fatal(err)
	}
	b2.Spec = "seen" // stays in
	b3, err := e.src.Update(ctx, b2)
	if err != nil {
		t.Fatal(err)
	}
	expect(controlloop.Modified, "b", b3.ResourceVersion)
	if err := e.src.Delete(ctx, controlloop.KeyOf(a2), controlloop.DeleteOptions{}); err != nil { // out: unseen
		t.Fatal(err)
	}
	if err := e.src.Delete(ctx, controlloop.KeyOf(b3), controlloop.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	ev := next(t, ch, wait)
	if ev.Type != controlloop.Deleted || ev.Object.Name != "b" || ev.Object.Spec != "seen" {
		t.Errorf("got %v %+v, want Deleted b with its last state", ev.Type, ev.Object)
	}
	quiet(t, ch, 200*time.Millisecond)
}

// TestWatchBookmarks: progress notifications become Bookmark events that
// advance past changes the selector filtered out, only for watches that
// allow them.
func TestWatchBookmarks(t *testing.T) {
	e := newEnv(t, etcdtest.Options{})
	ctx := testContext(t, 30*time.Second)
	sel := controlloop.Selector{Labels: map[string]string{"app": "web"}}
	with, err := e.src.Watch(ctx, controlloop.WatchOptions{Selector: sel, AllowBookmarks: true})
	if err != nil {
		t.Fatal(err)
	}
	without, err := e.src.Watch(ctx, controlloop.WatchOptions{Selector: sel})
	if err != nil {
		t.Fatal(err)
	}
	hidden, err := e.src.Create(ctx, pod("", "hidden", nil))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := strconv.ParseInt(hidden.ResourceVersion, 10, 64)
	// etcd answers a progress request only once the stream's watches are in
	// sync: ask until a bookmark at or past the write arrives.
	deadline := time.Now().Add(wait)
	for {
		if err := e.src.RequestProgress(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case ev := <-with:
			if ev.Type != controlloop.Bookmark {
				t.Fatalf("got %v, want Bookmark", ev.Type)
			}
			if rv, _ := strconv.ParseInt(ev.ResourceVersion, 10, 64); rv < want {
				continue
			}
			quiet(t, without, 100*time.Millisecond)
			return
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no bookmark at or past the filtered write")
		}
	}
}

// TestWatchPeriodicBookmarks: the server's progress notify interval alone
// produces bookmarks.
func TestWatchPeriodicBookmarks(t *testing.T) {
	e := newEnv(t, etcdtest.Options{ProgressNotifyInterval: 100 * time.Millisecond})
	ctx := testContext(t, 30*time.Second)
	p, err := e.src.Create(ctx, pod("", "a", nil))
	if err != nil {
		t.Fatal(err)
	}
	ch, err := e.src.Watch(ctx, controlloop.WatchOptions{ResourceVersion: p.ResourceVersion, AllowBookmarks: true, Selector: controlloop.Selector{Namespace: "ns"}})
	if err != nil {
		t.Fatal(err)
	}
	q, err := e.src.Create(ctx, pod("", "b", nil)) // outside the namespace
	if err != nil {
		t.Fatal(err)
	}
	want, _ := strconv.ParseInt(q.ResourceVersion, 10, 64)
	deadline := time.After(wait)
	for {
		select {
		case ev := <-ch:
			if ev.Type != controlloop.Bookmark {
				t.Fatalf("got %v, want Bookmark", ev.Type)
			}
			if rv, _ := strconv.ParseInt(ev.ResourceVersion, 10, 64); rv >= want {
				return
			}
		case <-deadline:
			t.Fatal("no periodic bookmark past the write")
		}
	}
}

// TestWatchCompacted: a watch from a compacted revision ends with an Error
// event wrapping ErrExpired, then closes.
func TestWatchCompacted(t *testing.T) {
	e := newEnv(t, etcdtest.Options{})
	ctx := testContext(t, 30*time.Second)
	a, err := e.src.Create(ctx, pod("", "a", nil))
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.src.Update(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	rev, _ := strconv.ParseInt(b.ResourceVersion, 10, 64)
	if _, err := e.client.Compact(ctx, rev); err != nil {
		t.Fatal(err)
	}
	ch, err := e.src.Watch(ctx, controlloop.WatchOptions{ResourceVersion: "1"})
	if err != nil {
		t.Fatal(err)
	}
	ev := next(t, ch, wait)
	if ev.Type != controlloop.Error || !errors.Is(ev.Err, controlloop.ErrExpired) {
		t.Fatalf("got %v %v, want Error wrapping ErrExpired", ev.Type, ev.Err)
	}
	if _, ok := <-ch; ok {
		t.Error("channel open after the Error event")
	}
	// From the compaction revision on, the watch works.
	ch, err = e.src.Watch(ctx, controlloop.WatchOptions{ResourceVersion: b.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.src.Delete(ctx, controlloop.KeyOf(b), controlloop.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, ch, wait); ev.Type != controlloop.Deleted {
		t.Errorf("got %v, want Deleted", ev.Type)
	}
}

// TestWatchClosesWithClient: the channel closes when the etcd client is
// closed under it.
func TestWatchClosesWithClient(t *testing.T) {
	srv := etcdtest.Start(t, etcdtest.Options{})
	c, err := srv.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	src := newSource(t, c)
	ch, err := src.Watch(testContext(t, 30*time.Second), controlloop.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	select {
	case _, ok := <-ch:
		for ok {
			_, ok = <-ch
		}
	case <-time.After(wait):
		t.Fatal("channel open after the client closed")
	}
}

func TestWatchBadInput(t *testing.T) {
	e := newEnv(t, etcdtest.Options{})
	ctx := testContext(t, 30*time.Second)
	for _, opts := range []controlloop.WatchOptions{
		{ResourceVersion: "abc"},
		{ResourceVersion: "-1"},
		{Selector: controlloop.Selector{Namespace: "a/b"}},
	} {
		if _, err := e.src.Watch(ctx, opts); !errors.Is(err, controlloop.ErrInvalid) {
			t.Errorf("Watch(%+v): %v, want ErrInvalid", opts, err)
		}
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := e.src.Watch(done, controlloop.WatchOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Watch with a done context: %v", err)
	}
}

// TestWatchWithoutPreviousValue: a watch from the compaction revision gets
// a delete whose previous value compaction removed; it is still reported,
// with the key alone (under a label selector too: whether it matched is
// unknown, and a spurious delete is harmless where a lost one is not). An
// update keeps its previous value: compaction keeps each key's latest
// version.
func TestWatchWithoutPreviousValue(t *testing.T) {
	e := newEnv(t, etcdtest.Options{})
	ctx := testContext(t, 30*time.Second)
	web := map[string]string{"app": "web"}
	a, err := e.src.Create(ctx, pod("ns", "a", web))
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.src.Create(ctx, pod("ns", "b", web))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.src.Delete(ctx, controlloop.KeyOf(a), controlloop.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	b.Labels = map[string]string{"app": "db"}
	b2, err := e.src.Update(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	rev, _ := strconv.ParseInt(b2.ResourceVersion, 10, 64)
	// Keep the delete of a (rev-1) and the update of b (rev), not what
	// they replaced.
	if _, err := e.client.Compact(ctx, rev-1); err != nil {
		t.Fatal(err)
	}
	from := strconv.FormatInt(rev-2, 10)
	for _, sel := range []controlloop.Selector{{}, {Labels: web}} {
		ch, err := e.src.Watch(ctx, controlloop.WatchOptions{ResourceVersion: from, Selector: sel})
		if err != nil {
			t.Fatal(err)
		}
		ev := next(t, ch, wait)
		if ev.Type != controlloop.Deleted || keyOf(ev.Object) != "ns/a" || ev.ResourceVersion != strconv.FormatInt(rev-1, 10) {
			t.Errorf("selector %v: got %v %s at %s, want Deleted ns/a at %d", sel, ev.Type, keyOf(ev.Object), ev.ResourceVersion, rev-1)
		}
		if ev.Object.UID != "" || ev.Object.Labels != nil {
			t.Errorf("selector %v: delete carries %+v, want the key alone", sel, ev.Object.ObjectMeta)
		}
		ev = next(t, ch, wait)
		want, labels := controlloop.Modified, "db"
		if len(sel.Labels) > 0 { // b left the selector: its state before
			want, labels = controlloop.Deleted, "web"
		}
		if ev.Type != want || keyOf(ev.Object) != "ns/b" || ev.Object.Labels["app"] != labels {
			t.Errorf("selector %v: got %v %s %v, want %v ns/b app=%s", sel, ev.Type, keyOf(ev.Object), ev.Object.Labels, want, labels)
		}
	}
}
