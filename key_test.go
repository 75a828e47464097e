package controlloop_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/controlloop/controlloop"
	"pgregory.net/rapid"
)

type thing struct {
	controlloop.ObjectMeta
}

func TestKeyRoundTrip(t *testing.T) {
	part := rapid.StringMatching(`[a-z0-9.\-]{0,12}`)
	rapid.Check(t, func(t *rapid.T) {
		k := controlloop.Key{Namespace: part.Draw(t, "namespace"), Name: part.Draw(t, "name")}
		got, err := controlloop.ParseKey(k.String())
		if k.Name == "" {
			if !errors.Is(err, controlloop.ErrInvalid) {
				t.Fatalf("ParseKey(%q) = %v, %v; want ErrInvalid", k.String(), got, err)
			}
			return
		}
		if err != nil || got != k {
			t.Fatalf("ParseKey(%q) = %v, %v; want %v", k.String(), got, err, k)
		}
	})
}

func TestParseKeyRejects(t *testing.T) {
	for _, s := range []string{"", "/", "ns/", "/name", "a/b/c", "ns/a/b"} {
		if k, err := controlloop.ParseKey(s); !errors.Is(err, controlloop.ErrInvalid) {
			t.Errorf("ParseKey(%q) = %v, %v; want ErrInvalid", s, k, err)
		}
	}
}

func TestKeyString(t *testing.T) {
	for k, want := range map[controlloop.Key]string{
		{Name: "a"}:                  "a",
		{Namespace: "ns", Name: "a"}: "ns/a",
	} {
		if got := k.String(); got != want {
			t.Errorf("%#v.String() = %q, want %q", k, got, want)
		}
	}
}

func TestValidate(t *testing.T) {
	var nilThing *thing
	cases := []struct {
		name string
		obj  controlloop.Object
		ok   bool
	}{
		{"nil interface", nil, false},
		{"nil pointer", nilThing, false},
		{"empty name", &thing{}, false},
		{"slash in name", &thing{controlloop.ObjectMeta{Name: "a/b"}}, false},
		{"slash in namespace", &thing{controlloop.ObjectMeta{Namespace: "a/b", Name: "c"}}, false},
		{"cluster scoped", &thing{controlloop.ObjectMeta{Name: "a"}}, true},
		{"namespaced", &thing{controlloop.ObjectMeta{Namespace: "ns", Name: "a"}}, true},
	}
	for _, c := range cases {
		err := controlloop.Validate(c.obj)
		if c.ok && err != nil {
			t.Errorf("%s: Validate = %v, want nil", c.name, err)
		}
		if !c.ok && !errors.Is(err, controlloop.ErrInvalid) {
			t.Errorf("%s: Validate = %v, want ErrInvalid", c.name, err)
		}
	}
}

func TestSelectorMatches(t *testing.T) {
	pod := &thing{controlloop.ObjectMeta{Namespace: "ns", Name: "p", Labels: map[string]string{"app": "web", "tier": "front"}}}
	cases := []struct {
		sel  controlloop.Selector
		want bool
	}{
		{controlloop.Selector{}, true},
		{controlloop.Selector{Namespace: "ns"}, true},
		{controlloop.Selector{Namespace: "other"}, false},
		{controlloop.Selector{Labels: map[string]string{"app": "web"}}, true},
		{controlloop.Selector{Labels: map[string]string{"app": "db"}}, false},
		{controlloop.Selector{Labels: map[string]string{"app": "web", "tier": "front"}}, true},
		{controlloop.Selector{Labels: map[string]string{"missing": ""}}, false},
	}
	for _, c := range cases {
		if got := c.sel.Matches(pod); got != c.want {
			t.Errorf("%+v.Matches = %v, want %v", c.sel, got, c.want)
		}
	}
}

func TestControllerRef(t *testing.T) {
	m := controlloop.ObjectMeta{OwnerReferences: []controlloop.OwnerReference{
		{Kind: "A", Name: "a"}, {Kind: "B", Name: "b", Controller: true},
	}}
	ref, ok := m.ControllerRef()
	if !ok || ref.Name != "b" {
		t.Fatalf("ControllerRef = %v, %v; want b", ref, ok)
	}
	if _, ok := (&controlloop.ObjectMeta{}).ControllerRef(); ok {
		t.Fatal("ControllerRef of an object without owners reported one")
	}
}

func TestEventTypeString(t *testing.T) {
	for _, et := range []controlloop.EventType{controlloop.Added, controlloop.Modified, controlloop.Deleted, controlloop.Bookmark, controlloop.Error} {
		if s := et.String(); strings.HasPrefix(s, "EventType(") {
			t.Errorf("%d has no name", et)
		}
	}
	if s := controlloop.EventType(99).String(); s != "EventType(99)" {
		t.Errorf("unknown type prints %q", s)
	}
}

func TestKeyOfNilIsZero(t *testing.T) {
	var typedNil *thing
	for _, o := range []controlloop.Object{nil, typedNil} {
		if k := controlloop.KeyOf(o); k != (controlloop.Key{}) {
			t.Errorf("KeyOf(%#v) = %v, want the zero Key", o, k)
		}
	}
}

func TestCollectKeepsOrder(t *testing.T) {
	a := &thing{ObjectMeta: controlloop.ObjectMeta{Name: "a"}}
	b := &thing{ObjectMeta: controlloop.ObjectMeta{Name: "b"}}
	seq := func(yield func(controlloop.Key, *thing) bool) {
		for _, o := range []*thing{b, a} {
			if !yield(controlloop.KeyOf(o), o) {
				return
			}
		}
	}
	got := controlloop.Collect(seq)
	if len(got) != 2 || got[0] != b || got[1] != a {
		t.Fatalf("Collect = %v, want [b a]", got)
	}
	if got := controlloop.Collect(func(func(controlloop.Key, *thing) bool) {}); len(got) != 0 {
		t.Fatalf("Collect of an empty walk = %v", got)
	}
}
