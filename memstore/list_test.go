package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/memstore"
	"github.com/google/go-cmp/cmp"
)

func keysOf(items []*Pod) []string {
	var out []string
	for _, p := range items {
		out = append(out, controlloop.KeyOf(p).String())
	}
	return out
}

func TestListSelector(t *testing.T) {
	ctx := context.Background()
	s := must(memstore.New[*Pod](memstore.Options{}))
	mustCreate(t, s, pod("b", "x", map[string]string{"app": "web"}))
	mustCreate(t, s, pod("a", "y", map[string]string{"app": "db"}))
	mustCreate(t, s, pod("a", "x", map[string]string{"app": "web", "tier": "1"}))
	mustCreate(t, s, pod("", "z", nil))
	cases := []struct {
		sel  controlloop.Selector
		want []string
	}{
		{controlloop.Selector{}, []string{"z", "a/x", "a/y", "b/x"}},
		{controlloop.Selector{Namespace: "a"}, []string{"a/x", "a/y"}},
		{controlloop.Selector{Labels: map[string]string{"app": "web"}}, []string{"a/x", "b/x"}},
		{controlloop.Selector{Namespace: "b", Labels: map[string]string{"app": "web"}}, []string{"b/x"}},
		{controlloop.Selector{Namespace: "c"}, nil},
	}
	for _, c := range cases {
		for _, limit := range []int{0, 1, 3} {
			var got []string
			opts := controlloop.ListOptions{Selector: c.sel, Limit: limit}
			for {
				res, err := s.List(ctx, opts)
				if err != nil {
					t.Fatal(err)
				}
				if res.ResourceVersion != "4" {
					t.Errorf("list version %q, want 4", res.ResourceVersion)
				}
				if limit > 0 && len(res.Items) > limit {
					t.Errorf("page of %d items, limit %d", len(res.Items), limit)
				}
				got = append(got, keysOf(res.Items)...)
				if res.Continue == "" {
					break
				}
				if len(res.Items) == 0 {
					t.Fatalf("empty page with a continue token")
				}
				opts.Continue = res.Continue
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("List(%+v, limit %d) (-want +got):\n%s", c.sel, limit, diff)
			}
		}
	}
}

// TestPagesReadAtFirstVersion checks that pages after the first ignore
// writes made in between, whether the snapshot is cached or rebuilt.
func TestPagesReadAtFirstVersion(t *testing.T) {
	ctx := context.Background()
	s := must(memstore.New[*Pod](memstore.Options{}))
	for i := range 10 {
		mustCreate(t, s, pod("", fmt.Sprintf("p%02d", i), nil))
	}
	first, err := s.List(ctx, controlloop.ListOptions{Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	// Writes after the first page: delete one not yet listed, add one, update
	// one twice, delete and recreate one.
	if err := s.Delete(ctx, controlloop.Key{Name: "p05"}, controlloop.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, pod("", "p04a", nil))
	p, _ := s.Get(ctx, controlloop.Key{Name: "p07"})
	p.Spec = "changed"
	if p, err = s.Update(ctx, p); err != nil {
		t.Fatal(err)
	}
	p.Spec = "changed twice" // a rebuilt page takes the state before the first change only
	if _, err := s.Update(ctx, p); err != nil {
		t.Fatal(err)
	}
	// One deleted and created again, not yet listed: it shows as it was.
	if err := s.Delete(ctx, controlloop.Key{Name: "p08"}, controlloop.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	p08 := pod("", "p08", nil)
	p08.Spec = "recreated"
	mustCreate(t, s, p08)
	// Evict cached snapshots by starting more paged lists than the cache holds.
	for range 6 {
		mustCreate(t, s, pod("", fmt.Sprintf("q%d", s.Len()), nil))
		if _, err := s.List(ctx, controlloop.ListOptions{Limit: 1}); err != nil {
			t.Fatal(err)
		}
	}
	for _, label := range []string{"rebuilt", "cached"} {
		got := keysOf(first.Items)
		opts := controlloop.ListOptions{Limit: 3, Continue: first.Continue}
		for opts.Continue != "" {
			res, err := s.List(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			if res.ResourceVersion != first.ResourceVersion {
				t.Errorf("%s: page at version %s, first at %s", label, res.ResourceVersion, first.ResourceVersion)
			}
			for _, it := range res.Items {
				if it.Spec != "" {
					t.Errorf("%s: page shows a later update of %s", label, it.Name)
				}
			}
			got = append(got, keysOf(res.Items)...)
			opts.Continue = res.Continue
		}
		want := []string{"p00", "p01", "p02", "p03", "p04", "p05", "p06", "p07", "p08", "p09"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: pages (-want +got):\n%s", label, diff)
		}
	}
}

func TestListErrors(t *testing.T) {
	ctx := context.Background()
	s := must(memstore.New[*Pod](memstore.Options{HistorySize: 2}))
	for i := range 4 {
		mustCreate(t, s, pod("a", fmt.Sprint(i), nil))
	}
	res, err := s.List(ctx, controlloop.ListOptions{Limit: 1, Selector: controlloop.Selector{Namespace: "a"}})
	if err != nil || res.Continue == "" {
		t.Fatalf("first page: %v, %+v", err, res)
	}
	injected := errors.New("injected")
	s.FailNextList(injected)
	cases := []struct {
		name string
		opts controlloop.ListOptions
		want error
	}{
		{"injected", controlloop.ListOptions{}, injected},
		{"negative limit", controlloop.ListOptions{Limit: -1}, controlloop.ErrInvalid},
		{"bad namespace", controlloop.ListOptions{Selector: controlloop.Selector{Namespace: "a/b"}}, controlloop.ErrInvalid},
		{"garbage token", controlloop.ListOptions{Continue: "!!"}, controlloop.ErrInvalid},
		{"token for another namespace", controlloop.ListOptions{Continue: res.Continue, Selector: controlloop.Selector{Namespace: "b"}}, controlloop.ErrInvalid},
	}
	for _, c := range cases {
		if _, err := s.List(ctx, c.opts); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	// The injected failure is used up; the token still works.
	if _, err := s.List(ctx, controlloop.ListOptions{Limit: 1, Continue: res.Continue, Selector: controlloop.Selector{Namespace: "a"}}); err != nil {
		t.Errorf("continue: %v", err)
	}
	// Writes push the token's version out of the two-change history.
	mustCreate(t, s, pod("a", "5", nil))
	mustCreate(t, s, pod("a", "6", nil))
	mustCreate(t, s, pod("a", "7", nil))
	if _, err := s.List(ctx, controlloop.ListOptions{Limit: 1, Continue: res.Continue, Selector: controlloop.Selector{Namespace: "a"}}); !errors.Is(err, controlloop.ErrExpired) {
		t.Errorf("continue after the window moved: %v, want ErrExpired", err)
	}
	res, _ = s.List(ctx, controlloop.ListOptions{Limit: 1})
	s.ExpireHistory()
	if _, err := s.List(ctx, controlloop.ListOptions{Limit: 1, Continue: res.Continue}); err != nil {
		t.Errorf("continue at the current version after ExpireHistory: %v", err)
	}
	mustCreate(t, s, pod("a", "8", nil))
	if err := s.Compact(s.ResourceVersion()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.List(ctx, controlloop.ListOptions{Limit: 1, Continue: res.Continue}); !errors.Is(err, controlloop.ErrExpired) {
		t.Errorf("continue after Compact: %v, want ErrExpired", err)
	}
}

// TestListOrderAcrossChurn checks the sorted key order the store keeps
// between lists: keys deleted and created again before the next list, and
// more creations than the order keeps unmerged.
func TestListOrderAcrossChurn(t *testing.T) {
	ctx := context.Background()
	s := must(memstore.New[*Pod](memstore.Options{}))
	listKeys := func() []string {
		t.Helper()
		res, err := s.List(ctx, controlloop.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return keysOf(res.Items)
	}
	del := func(name string) {
		t.Helper()
		if err := s.Delete(ctx, controlloop.Key{Name: name}, controlloop.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mustCreate(t, s, pod("", "m", nil))
	listKeys() // m is merged into the order
	del("m")
	mustCreate(t, s, pod("", "m", nil))
	mustCreate(t, s, pod("", "b", nil))
	del("b")
	mustCreate(t, s, pod("", "b", nil))
	del("b")
	mustCreate(t, s, pod("", "a", nil))
	if diff := cmp.Diff([]string{"a", "m"}, listKeys()); diff != "" {
		t.Errorf("after churn (-want +got):\n%s", diff)
	}

	// Far more creations than objects, with no list: the order is rebuilt.
	var want []string
	for i := range 3000 {
		name := fmt.Sprintf("k%04d", i)
		mustCreate(t, s, pod("", name, nil))
		if i%2 == 0 {
			del(name)
		} else {
			want = append(want, name)
		}
	}
	want = append([]string{"a"}, append(want, "m")...)
	if diff := cmp.Diff(want, listKeys()); diff != "" {
		t.Errorf("after many creations (-want +got):\n%s", diff)
	}
	var all []string
	for k := range s.All() {
		all = append(all, k.String())
	}
	if diff := cmp.Diff(want, all); diff != "" {
		t.Errorf("All (-want +got):\n%s", diff)
	}
}
