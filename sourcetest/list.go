package sourcetest

import (
	"slices"

	"github.com/controlloop/controlloop"
)

// orderKeys are keys whose namespaces tell KeyOrder from PathOrder: "a"
// begins "a-b" and "a.b", whose next bytes sort below '/'.
func orderKeys() []controlloop.Key {
	return []controlloop.Key{
		{Namespace: "ab", Name: "x"}, {Namespace: "a", Name: "y"}, {Name: "x"},
		{Namespace: "a-b", Name: "x"}, {Namespace: "b", Name: "x"}, {Namespace: "a", Name: "x-y"},
		{Namespace: "a.b", Name: "x"}, {Namespace: "a", Name: "x"}, {Name: "-x"},
	}
}

// checkListOrder: List returns every object once, in Options.Order, on
// one page or many.
func (s *suite[T]) checkListOrder(t tb) {
	e, cancel := s.start(t)
	defer cancel()
	keys := orderKeys()
	for _, k := range keys {
		e.create(k, nil)
	}
	want := slices.SortedFunc(slices.Values(keys), s.opts.Order)
	for _, limit := range []int{0, 2} {
		items, rv := e.list(controlloop.ListOptions{Limit: limit})
		if rv == "" {
			t.Errorf("List (limit %d) returned no resource version", limit)
		}
		if got := keysOf(items); !slices.Equal(got, want) {
			t.Errorf("List (limit %d) returned keys\n\t%v\nwant, in Options.Order,\n\t%v", limit, got, want)
		}
	}
}

// checkListSelectors: a namespace selects that namespace only (not those
// it begins), labels select objects carrying all of them, and both
// together select objects that match each; an empty store lists nothing,
// at a version.
func (s *suite[T]) checkListSelectors(t tb) {
	e, cancel := s.start(t)
	defer cancel()
	if items, rv := e.list(controlloop.ListOptions{}); len(items) != 0 || rv == "" {
		t.Errorf("List of an empty store = %v at version %q, want nothing at a version", keysOf(items), rv)
	}
	objs := []struct {
		key    controlloop.Key
		labels map[string]string
	}{
		{keyOf("a", "1"), map[string]string{"app": "x", "tier": "web"}},
		{keyOf("a", "2"), map[string]string{"app": "x"}},
		{keyOf("a", "3"), map[string]string{"app": "y", "tier": "web"}},
		{keyOf("a", "4"), nil},
		{keyOf("ab", "1"), map[string]string{"app": "x", "tier": "web"}},
		{keyOf("a-b", "1"), map[string]string{"app": "x"}},
		{keyOf("", "1"), map[string]string{"app": "x"}},
	}
	for _, o := range objs {
		e.create(o.key, o.labels)
	}
	for _, sel := range []controlloop.Selector{
		{},
		{Namespace: "a"},
		{Namespace: "ab"},
		{Namespace: "missing"},
		{Labels: map[string]string{"app": "x"}},
		{Labels: map[string]string{"app": "x", "tier": "web"}},
		{Labels: map[string]string{"app": "z"}},
		{Namespace: "a", Labels: map[string]string{"app": "x"}},
		{Namespace: "a", Labels: map[string]string{"tier": "web"}},
	} {
		var want []controlloop.Key
		for _, o := range objs {
			if matches(sel, o.key, o.labels) {
				want = append(want, o.key)
			}
		}
		slices.SortFunc(want, s.opts.Order)
		for _, limit := range []int{0, 1} {
			items, _ := e.list(controlloop.ListOptions{Selector: sel, Limit: limit})
			if got := keysOf(items); !slices.Equal(got, want) {
				t.Errorf("List(%+v, limit %d) = %v, want %v", sel, limit, got, want)
			}
		}
	}
}

// matches reports whether sel selects an object with the key and labels.
func matches(sel controlloop.Selector, key controlloop.Key, labels map[string]string) bool {
	return (sel.Namespace == "" || sel.Namespace == key.Namespace) && sel.MatchesLabels(labels)
}

// checkListPages: with a limit, each page holds at most that many objects,
// every page but the last ends with a continue token, every page carries
// the first page's version, and the pages together are the whole list, in
// order, each object once.
func (s *suite[T]) checkListPages(t tb) {
	e, cancel := s.start(t)
	defer cancel()
	for i, name := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		e.create(keyOf("p", name), label([]string{"x", "y"}[i%2]))
	}
	for _, name := range []string{"a", "b", "c"} {
		e.create(keyOf("q", name), label("x"))
	}
	for _, sel := range []controlloop.Selector{{}, {Namespace: "p"}, {Labels: label("x")}, {Namespace: "p", Labels: label("y")}} {
		whole, _ := e.list(controlloop.ListOptions{Selector: sel})
		want := keysOf(whole)
		for limit := 1; limit <= len(want)+1; limit++ {
			opts := controlloop.ListOptions{Selector: sel, Limit: limit}
			var got []controlloop.Key
			var first string
			for page := 0; ; page++ {
				res, err := e.b.List(e.ctx, opts)
				if err != nil {
					t.Fatalf("List(%+v) page %d: %v", opts, page, err)
				}
				if page == 0 {
					first = res.ResourceVersion
				} else if res.ResourceVersion != first {
					t.Errorf("List(%+v) page %d at version %s, the first at %s: every page has the first one's version", sel, page, res.ResourceVersion, first)
				}
				if len(res.Items) > limit {
					t.Errorf("List(%+v, limit %d) page %d has %d items", sel, limit, page, len(res.Items))
				}
				if res.Continue != "" && len(res.Items) == 0 {
					t.Fatalf("List(%+v, limit %d) page %d is empty yet has a continue token", sel, limit, page)
				}
				got = append(got, keysOf(res.Items)...)
				if res.Continue == "" {
					break
				}
				if page > len(want) {
					t.Fatalf("List(%+v, limit %d): more than %d pages", sel, limit, page)
				}
				opts.Continue = res.Continue
			}
			if !slices.Equal(got, want) {
				t.Errorf("List(%+v) in pages of %d = %v, want %v", sel, limit, got, want)
			}
		}
	}
}

// checkListPagesConsistent: later pages show the objects as they were at
// the first page's version, whatever was written since.
func (s *suite[T]) checkListPagesConsistent(t tb) {
	e, cancel := s.start(t)
	defer cancel()
	var at []T // the objects at the first page's version, in list order
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		at = append(at, e.create(keyOf("p", name), label("old")))
	}
	slices.SortFunc(at, func(a, b T) int { return s.opts.Order(controlloop.KeyOf(a), controlloop.KeyOf(b)) })
	opts := controlloop.ListOptions{Selector: controlloop.Selector{Namespace: "p"}, Limit: 2}
	res, err := e.b.List(e.ctx, opts)
	if err != nil {
		t.Fatalf("List(%+v): %v", opts, err)
	}
	if res.Continue == "" {
		t.Fatalf("List(%+v) of 5 objects gave no continue token", opts)
	}
	got := res.Items
	// Change every object after the first page, and add some.
	for _, obj := range at[2:4] {
		e.relabel(obj, label("new"), false)
	}
	e.remove(controlloop.KeyOf(at[4]))
	e.create(keyOf("p", "bb"), label("new"))
	e.create(keyOf("p", "z"), label("new"))
	for opts.Continue = res.Continue; opts.Continue != ""; opts.Continue = res.Continue {
		if res, err = e.b.List(e.ctx, opts); err != nil {
			t.Fatalf("List(%+v) after writes: %v", opts, err)
		}
		got = append(got, res.Items...)
	}
	if len(got) != len(at) {
		t.Fatalf("pages read across writes = %v, want %v (the state at the first page)", keysOf(got), keysOf(at))
	}
	for i, obj := range got {
		want := at[i]
		if controlloop.KeyOf(obj) != controlloop.KeyOf(want) || obj.GetResourceVersion() != want.GetResourceVersion() || labelString(obj.GetObjectMeta().Labels) != "app=old" {
			t.Errorf("page item %d = %v at %s with labels %v, want %v at %s with app=old (the state at the first page)", i, controlloop.KeyOf(obj), obj.GetResourceVersion(), obj.GetObjectMeta().Labels, controlloop.KeyOf(want), want.GetResourceVersion())
		}
	}
}

// checkListBadInput: a negative limit, a malformed continue token, a token
// used with another namespace and a namespace with '/' are ErrInvalid.
func (s *suite[T]) checkListBadInput(t tb) {
	e, cancel := s.start(t)
	defer cancel()
	for _, name := range []string{"a", "b", "c"} {
		e.create(keyOf("p", name), nil)
	}
	res, err := e.b.List(e.ctx, controlloop.ListOptions{Selector: controlloop.Selector{Namespace: "p"}, Limit: 1})
	if err != nil || res.Continue == "" {
		t.Fatalf("List(namespace p, limit 1) = continue %q, %v; want a continue token", res.Continue, err)
	}
	for what, opts := range map[string]controlloop.ListOptions{
		"a negative limit":                  {Limit: -1},
		"a malformed continue token":        {Continue: "not a token!", Limit: 1},
		"a token of another namespace":      {Selector: controlloop.Selector{Namespace: "q"}, Continue: res.Continue, Limit: 1},
		"a token of a namespace, with none": {Continue: res.Continue, Limit: 1},
		"a namespace with '/'":              {Selector: controlloop.Selector{Namespace: "p/q"}},
	} {
		_, err := e.b.List(e.ctx, opts)
		e.wantErr("List with "+what, err, controlloop.ErrInvalid)
	}
}

// checkListExpired: a continue token whose version has expired fails with
// ErrExpired.
func (s *suite[T]) checkListExpired(t tb) {
	e, cancel := s.start(t)
	defer cancel()
	for _, name := range []string{"a", "b", "c"} {
		e.create(keyOf("p", name), nil)
	}
	res, err := e.b.List(e.ctx, controlloop.ListOptions{Limit: 1})
	if err != nil || res.Continue == "" {
		t.Fatalf("List(limit 1) = continue %q, %v; want a continue token", res.Continue, err)
	}
	last := e.create(keyOf("p", "d"), nil)
	if err := s.opts.Compact(e.ctx, e.b, last.GetResourceVersion()); err != nil {
		t.Fatalf("Options.Compact(%s): %v", last.GetResourceVersion(), err)
	}
	_, err = e.b.List(e.ctx, controlloop.ListOptions{Limit: 1, Continue: res.Continue})
	e.wantErr("List with a continue token at an expired version", err, controlloop.ErrExpired)
	if items, _ := e.list(controlloop.ListOptions{Limit: 1}); len(items) != 4 {
		t.Errorf("a new list after the expiry = %v, want 4 objects", keysOf(items))
	}
}
