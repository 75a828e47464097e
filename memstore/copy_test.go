package memstore_test

import (
	"context"
	"testing"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/memstore"
	"github.com/google/go-cmp/cmp"
)

// Blob has no DeepCopy method: the store copies it by reflection.
type Blob struct {
	controlloop.ObjectMeta
	Data   map[string][]int
	Nested *Inner
	List   []Inner
	Any    any
	Array  [2]*Inner
	note   string // unexported: copied as is
}

type Inner struct {
	Tags map[string]string
	N    int
}

func TestReflectCopyIsDeep(t *testing.T) {
	ctx := context.Background()
	s := must(memstore.New[*Blob](memstore.Options{}))
	in := &Blob{
		ObjectMeta: controlloop.ObjectMeta{Name: "b", Labels: map[string]string{"k": "v"},
			OwnerReferences: []controlloop.OwnerReference{{Kind: "K", Name: "o"}}},
		Data:   map[string][]int{"x": {1, 2}},
		Nested: &Inner{Tags: map[string]string{"t": "1"}, N: 1},
		List:   []Inner{{Tags: map[string]string{"l": "1"}}},
		Any:    map[string]int{"a": 1},
		Array:  [2]*Inner{{N: 5}, nil},
		note:   "kept",
	}
	out, err := s.Create(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if out.note != "kept" {
		t.Errorf("unexported field lost: %q", out.note)
	}
	want := &Blob{
		ObjectMeta: controlloop.ObjectMeta{Name: "b", Labels: map[string]string{"k": "v"},
			OwnerReferences: []controlloop.OwnerReference{{Kind: "K", Name: "o"}}},
		Data:   map[string][]int{"x": {1, 2}},
		Nested: &Inner{Tags: map[string]string{"t": "1"}, N: 1},
		List:   []Inner{{Tags: map[string]string{"l": "1"}}},
		Any:    map[string]int{"a": 1},
		Array:  [2]*Inner{{N: 5}, nil},
	}
	// Mutate everything reachable from the input and the output.
	for _, b := range []*Blob{in, out} {
		b.Labels["k"] = "changed"
		b.OwnerReferences[0].Name = "changed"
		b.Data["x"][0] = 99
		b.Nested.Tags["t"] = "changed"
		b.Nested.N = 99
		b.List[0].Tags["l"] = "changed"
		b.Any.(map[string]int)["a"] = 99
		b.Array[0].N = 99
	}
	got, err := s.Get(ctx, controlloop.Key{Name: "b"})
	if err != nil {
		t.Fatal(err)
	}
	opts := cmp.AllowUnexported(Blob{})
	want.note = "kept"
	if diff := cmp.Diff(want, got, opts, cmp.FilterPath(func(p cmp.Path) bool {
		return p.String() == "ObjectMeta.ResourceVersion" || p.String() == "ObjectMeta.UID" || p.String() == "ObjectMeta.Generation"
	}, cmp.Ignore())); diff != "" {
		t.Errorf("stored object changed through a caller's copy (-want +got):\n%s", diff)
	}
}

// Plain is not a pointer type: the store refuses it at construction.
type Plain struct{ controlloop.ObjectMeta }

func (p Plain) GetObjectMeta() *controlloop.ObjectMeta { return &p.ObjectMeta }
func (p Plain) GetName() string                        { return p.Name }
func (p Plain) GetNamespace() string                   { return p.Namespace }
func (p Plain) GetResourceVersion() string             { return p.ResourceVersion }

func TestNewRefusesValueType(t *testing.T) {
	if s, err := memstore.New[Plain](memstore.Options{}); err == nil || s != nil {
		t.Errorf("New[Plain] = %v, %v; want an error", s, err)
	}
}
