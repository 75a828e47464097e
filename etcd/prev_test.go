package etcd_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/etcd/etcdtest"
)

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
