package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/etcd"
	"github.com/controlloop/controlloop/etcd/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
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

// TestWatchBookmarksOnlyAdvance: a progress notification at the revision
// of the last event a watch delivered gives it no Bookmark: bookmarks only
// bring the consumer further. A second watch on the same stream, whose
// only event is filtered out, shows that etcd did answer.
func TestWatchBookmarksOnlyAdvance(t *testing.T) {
	e := newEnv(t, etcdtest.Options{})
	ctx := testContext(t, 30*time.Second)
	all, err := e.src.Watch(ctx, controlloop.WatchOptions{AllowBookmarks: true})
	if err != nil {
		t.Fatal(err)
	}
	none, err := e.src.Watch(ctx, controlloop.WatchOptions{AllowBookmarks: true, Selector: controlloop.Selector{Labels: map[string]string{"app": "none"}}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.src.Create(ctx, pod("", "a", nil))
	if err != nil {
		t.Fatal(err)
	}
	if ev := next(t, all, wait); ev.Type != controlloop.Added || ev.ResourceVersion != p.ResourceVersion {
		t.Fatalf("got %v at %s, want Added at %s", ev.Type, ev.ResourceVersion, p.ResourceVersion)
	}
	want, _ := strconv.ParseInt(p.ResourceVersion, 10, 64)
	deadline := time.Now().Add(wait)
	for answered := false; !answered; {
		if err := e.src.RequestProgress(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case ev := <-none:
			rv, _ := strconv.ParseInt(ev.ResourceVersion, 10, 64)
			answered = ev.Type == controlloop.Bookmark && rv >= want
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("etcd did not answer the progress requests")
		}
	}
	quiet(t, all, 200*time.Millisecond)
}

// TestBookmarksNeedEveryEndpoint (issue 13, item 1): progress
// notifications become bookmarks only if every endpoint of the client
// tells its version: with one endpoint down, RequestProgress fails with
// ErrUnsupported and a watch gets no periodic bookmarks, although the one
// it reaches orders them.
func TestBookmarksNeedEveryEndpoint(t *testing.T) {
	e := newEnv(t, etcdtest.Options{ProgressNotifyInterval: 50 * time.Millisecond})
	ctx := testContext(t, 30*time.Second)
	c, err := clientv3.New(clientv3.Config{Endpoints: append(e.srv.Endpoints(), "127.0.0.1:1"), DialTimeout: 5 * time.Second, Logger: quietZap()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	src := newSourceWith(t, c, etcd.Options{UnavailableAfter: 300 * time.Millisecond, Logger: quietLog})
	if err := src.RequestProgress(ctx); !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("RequestProgress with an endpoint down: %v, want ErrUnsupported naming it", err)
	}
	ch, err := src.Watch(ctx, controlloop.WatchOptions{AllowBookmarks: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Put(ctx, "/elsewhere", "x"); err != nil {
		t.Fatal(err)
	}
	quiet(t, ch, 250*time.Millisecond)
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

// forEachServer runs f as a subtest on the embedded etcd and on an etcd
// binary (Debian's etcd-server 3.4 in CI; skipped without one outside CI).
func forEachServer(t *testing.T, f func(t *testing.T, opts etcdtest.Options)) {
	t.Run("embedded", func(t *testing.T) { f(t, etcdtest.Options{}) })
	t.Run("binary", func(t *testing.T) { f(t, etcdtest.Options{Binary: etcdtest.Binary(t)}) })
}

// writeHistory makes n revisions under src's prefix, each a put of a 1 KiB
// value to one of 50 keys, and returns the revision of the first.
func writeHistory(t *testing.T, ctx context.Context, e *env, src *etcd.Source[*Pod], n int) int64 {
	t.Helper()
	value := `{"spec":"` + strings.Repeat("x", 1024) + `"}`
	var first atomic.Int64
	first.Store(math.MaxInt64)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				resp, err := e.client.Put(ctx, fmt.Sprintf("%s/ns/p%d", src.Prefix(), i%50), value)
				if err != nil {
					errs <- err
					return
				}
				for r := first.Load(); resp.Header.Revision < r && !first.CompareAndSwap(r, resp.Header.Revision); r = first.Load() {
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return first.Load()
}

// TestBookmarksNeverOvertakeEvents (issue 13, item 1): a watch replaying a
// long history, while progress notifications are requested, never
// delivers a Bookmark ahead of events it has not delivered yet. etcd
// 3.4.23 answers a progress request at once with its current revision, to
// every watch on the gRPC stream, and the watch used to turn that into a
// Bookmark. Now a request by another user of the client no longer reaches
// the source's watches (their stream is their own), and on a server that
// may answer ahead of events a watch has no bookmarks and ends where a
// notification comes ahead anyway (its client would resume from there):
// watching again from the last event loses nothing. A server that orders
// them (the embedded one) still gives bookmarks, after the events they
// cover.
func TestBookmarksNeverOvertakeEvents(t *testing.T) {
	forEachServer(t, func(t *testing.T, opts etcdtest.Options) {
		e := newEnv(t, opts)
		ctx := testContext(t, 60*time.Second)
		const n = 3000
		first := writeHistory(t, ctx, e, e.src, n)
		last := first + n - 1
		ordered := e.srv.Version() >= "3.6" // the embedded server; Debian's is 3.4.23
		for _, tt := range []struct {
			name    string
			request func() error
		}{
			{"another user's request", func() error { return e.client.RequestProgress(clientv3.WithRequireLeader(ctx)) }},
			{"a request on the source's stream", func() error { return etcd.RequestProgressUnchecked(ctx, e.src) }},
		} {
			from := first - 1
			var bookmarks, watches int
			for from < last {
				wctx, cancel := context.WithCancel(ctx)
				ch, err := e.src.Watch(wctx, controlloop.WatchOptions{ResourceVersion: strconv.FormatInt(from, 10), AllowBookmarks: true})
				if err != nil {
					t.Fatal(err)
				}
				watches++
				if watches == 1 {
					for range 20 {
						if err := tt.request(); err != nil {
							t.Fatal(err)
						}
					}
				}
				var bookmark int64 // the last bookmark's revision
				for ev := range ch {
					rev, _ := strconv.ParseInt(ev.ResourceVersion, 10, 64)
					switch ev.Type {
					case controlloop.Bookmark:
						bookmarks++
						bookmark = rev
						continue
					case controlloop.Error:
						t.Fatalf("%s: watch from %d: %v", tt.name, from, ev.Err)
					}
					if rev <= bookmark {
						t.Fatalf("%s: event at %d after a bookmark at %d: the bookmark overtook it", tt.name, rev, bookmark)
					}
					if rev != from+1 {
						t.Fatalf("%s: event at %d after %d: a gap or a repeat", tt.name, rev, from)
					}
					if from = rev; from == last {
						break
					}
				}
				cancel()
				if watches > 10 {
					t.Fatalf("%s: %d watches and only at %d of %d", tt.name, watches, from, last)
				}
			}
			if !ordered && bookmarks > 0 {
				t.Errorf("%s: etcd %s: %d bookmarks, want none from a server that may send them ahead of events", tt.name, e.srv.Version(), bookmarks)
			}
			if tt.name == "another user's request" && watches > 1 {
				t.Errorf("%s: the watch ended %d times: the request reached it", tt.name, watches-1)
			}
			t.Logf("%s: etcd %s: %d events in %d watches, %d bookmarks", tt.name, e.srv.Version(), n, watches, bookmarks)
		}
	})
}

// TestProgressOrderedVersions: the server versions whose progress
// notifications become bookmarks are those with etcd's fixes (3.4.31,
// 3.5.13, 3.6 and later); unknown forms are not trusted.
func TestProgressOrderedVersions(t *testing.T) {
	for v, want := range map[string]bool{
		"3.4.23": false, "3.4.30": false, "3.4.31": true, "3.4.40": true,
		"3.5.12": false, "3.5.13": true, "3.5.21": true,
		"3.6.0": true, "3.6.0-rc.1": true, "3.7.3": true, "4.0.0": true,
		"3.3.27": false, "2.3.8": false, "3.4": false, "3.6": true,
		"": false, "v3.6.0": false, "3.x.1": false, "3.-1.0": false,
	} {
		if got := etcd.ProgressOrdered(v); got != want {
			t.Errorf("ProgressOrdered(%q) = %v, want %v", v, got, want)
		}
	}
}

// TestBookmarksOnlyWhereOrdered (issue 13, item 1): on a server that may
// send progress notifications ahead of events, RequestProgress fails with
// ErrUnsupported naming the version, and a watch that allows bookmarks
// does not ask for periodic notifications (it gets none, and is not ended
// by them); on the embedded server RequestProgress works.
func TestBookmarksOnlyWhereOrdered(t *testing.T) {
	forEachServer(t, func(t *testing.T, opts etcdtest.Options) {
		opts.ProgressNotifyInterval = 50 * time.Millisecond
		e := newEnv(t, opts)
		ctx := testContext(t, 30*time.Second)
		err := e.src.RequestProgress(ctx)
		if e.srv.Version() >= "3.6" {
			if err != nil {
				t.Fatalf("RequestProgress on etcd %s: %v", e.srv.Version(), err)
			}
			return
		}
		if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), e.srv.Version()) {
			t.Errorf("RequestProgress on etcd %s: %v, want ErrUnsupported naming the version", e.srv.Version(), err)
		}
		ch, err := e.src.Watch(ctx, controlloop.WatchOptions{AllowBookmarks: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.client.Put(ctx, "/elsewhere", "x"); err != nil {
			t.Fatal(err)
		}
		quiet(t, ch, 500*time.Millisecond)
	})
}

// newSourceWith returns a source of pods on c under a prefix of its own,
// with opts.
func newSourceWith(t *testing.T, c *clientv3.Client, opts etcd.Options) *etcd.Source[*Pod] {
	t.Helper()
	opts.Prefix = fmt.Sprintf("/test/pods-%d", prefixes.Add(1))
	src, err := etcd.New[*Pod](c, opts)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// wantUnavailable reads ch until an Error event, which must wrap
// ErrUnavailable and come within timeout; then ch must close.
func wantUnavailable(t *testing.T, ch <-chan controlloop.Event[*Pod], timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatal("watch closed without an error")
			}
			if ev.Type != controlloop.Error {
				continue
			}
			if !errors.Is(ev.Err, etcd.ErrUnavailable) {
				t.Fatalf("watch ended with %v, want ErrUnavailable", ev.Err)
			}
			if _, ok := <-ch; ok {
				t.Fatal("watch went on after its error")
			}
			return
		case <-deadline:
			t.Fatalf("no error within %v of losing etcd", timeout)
		}
	}
}

// TestWatchReportsLostConnection (issue 13, item 3): a watch on an etcd
// that has stopped, or that a partition holds back, ends with an error
// wrapping ErrUnavailable within about twice Options.UnavailableAfter,
// where it used to stay open and silent; a watch on a healthy, quiet etcd
// stays open.
func TestWatchReportsLostConnection(t *testing.T) {
	const bound = 200 * time.Millisecond
	forEachServer(t, func(t *testing.T, opts etcdtest.Options) {
		e := newEnv(t, opts)
		ctx := testContext(t, 60*time.Second)
		src := newSourceWith(t, e.client, etcd.Options{UnavailableAfter: bound, Logger: quietLog})

		ch, err := src.Watch(ctx, controlloop.WatchOptions{AllowBookmarks: true})
		if err != nil {
			t.Fatal(err)
		}
		quiet(t, ch, 5*bound)

		link, err := e.srv.NewLink()
		if err != nil {
			t.Fatal(err)
		}
		lc, err := clientv3.New(clientv3.Config{Endpoints: link.Endpoints(), DialTimeout: 5 * time.Second, Logger: quietZap()})
		if err != nil {
			t.Fatal(err)
		}
		defer lc.Close()
		behind := newSourceWith(t, lc, etcd.Options{UnavailableAfter: bound, Logger: quietLog})
		partitioned, err := behind.Watch(ctx, controlloop.WatchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		link.Partition()
		wantUnavailable(t, partitioned, 10*bound)
		link.Heal()

		e.srv.Stop()
		wantUnavailable(t, ch, 10*bound)
		if err := e.srv.Start(ctx); err != nil {
			t.Fatal(err)
		}
		// Until the client has reconnected, a watch from now fails within
		// the bound, with ErrUnavailable.
		eventually(t, wait, "a watch after the restart", func() bool {
			ch, err = src.Watch(ctx, controlloop.WatchOptions{})
			if err != nil && !errors.Is(err, etcd.ErrUnavailable) {
				t.Fatalf("watch after the restart: %v", err)
			}
			return err == nil
		})
		p, err := src.Create(ctx, pod("ns", "after", nil))
		if err != nil {
			t.Fatal(err)
		}
		if ev := next(t, ch, wait); ev.Type != controlloop.Added || ev.ResourceVersion != p.ResourceVersion {
			t.Errorf("after the restart: %v at %s, want Added at %s", ev.Type, ev.ResourceVersion, p.ResourceVersion)
		}
	})
}

// TestWatchReportsLostLeader (issue 13, item 3): a watch on a member of a
// three-member cluster whose two peers have stopped (it has no leader, yet
// answers on its connection) ends with an error wrapping ErrUnavailable:
// etcd cancels it (the watch requires a leader), long before the probe's
// bound of a minute would.
func TestWatchReportsLostLeader(t *testing.T) {
	forEachServer(t, func(t *testing.T, opts etcdtest.Options) {
		opts.Members = 3
		srv := etcdtest.Start(t, opts)
		ctx := testContext(t, 60*time.Second)
		members := srv.Members()
		c, err := clientv3.New(clientv3.Config{Endpoints: []string{members[0].Endpoint()}, DialTimeout: 5 * time.Second, Logger: quietZap()})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		src := newSourceWith(t, c, etcd.Options{UnavailableAfter: time.Minute, Logger: quietLog})
		ch, err := src.Watch(ctx, controlloop.WatchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		members[1].Stop()
		members[2].Stop()
		wantUnavailable(t, ch, 30*time.Second)
	})
}

// TestWatchDuringOutage (issue 13, item 3): a Watch call while etcd is
// down returns within its bound, and the watch then ends with an error
// wrapping ErrUnavailable (the etcd client's Watch waits for etcd to
// create the watch: the call used to hang until its context ended); a
// watch from now fails with ErrUnavailable.
func TestWatchDuringOutage(t *testing.T) {
	const bound = 200 * time.Millisecond
	forEachServer(t, func(t *testing.T, opts etcdtest.Options) {
		e := newEnv(t, opts)
		ctx := testContext(t, 60*time.Second)
		src := newSourceWith(t, e.client, etcd.Options{UnavailableAfter: bound, Logger: quietLog})
		p, err := src.Create(ctx, pod("ns", "a", nil))
		if err != nil {
			t.Fatal(err)
		}
		e.srv.Stop()
		wctx, cancel := context.WithTimeout(ctx, 20*bound)
		defer cancel()
		began := time.Now()
		ch, err := src.Watch(wctx, controlloop.WatchOptions{ResourceVersion: p.ResourceVersion, AllowBookmarks: true})
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(began); d > 5*bound {
			t.Errorf("Watch took %v while etcd was down, want at most about %v", d, 2*bound)
		}
		wantUnavailable(t, ch, 10*bound)
		if _, err := src.Watch(wctx, controlloop.WatchOptions{}); !errors.Is(err, etcd.ErrUnavailable) {
			t.Errorf("Watch from now while etcd is down: %v, want ErrUnavailable", err)
		}
	})
}
