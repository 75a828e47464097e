package memstore_test

import (
	"context"
	"errors"
	"maps"
	"math/big"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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
	When   time.Time
	note   string // unexported and holding no memory: copied as is
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
		When:   time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
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
		When:   time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
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
	s, err := memstore.New[Plain](memstore.Options{})
	if s != nil || !errors.Is(err, controlloop.ErrInvalid) {
		t.Fatalf("New[Plain] = %v, %v; want an error wrapping controlloop.ErrInvalid", s, err)
	}
	want := "memstore: type parameter T is memstore_test.Plain: must be a pointer type, not a struct: " + controlloop.ErrInvalid.Error()
	if err.Error() != want {
		t.Fatalf("error %q, want %q", err, want)
	}
}

// Counter has no DeepCopy method and an exported *big.Int, whose digits sit
// in an unexported slice that reflection cannot copy.
type Counter struct {
	controlloop.ObjectMeta
	Count *big.Int
}

// BigCounter is Counter with a DeepCopy method.
type BigCounter struct {
	controlloop.ObjectMeta
	Count *big.Int
}

func (c *BigCounter) DeepCopy() *BigCounter {
	out := *c
	out.ObjectMeta.Labels = maps.Clone(c.Labels)
	out.OwnerReferences = slices.Clone(c.OwnerReferences)
	if c.Count != nil {
		out.Count = new(big.Int).Set(c.Count)
	}
	return &out
}

type (
	hiddenPointer struct {
		controlloop.ObjectMeta
		inner *Inner
	}
	hiddenInSlice struct {
		controlloop.ObjectMeta
		Items []struct{ tags map[string]string }
	}
	channel struct {
		controlloop.ObjectMeta
		Done chan struct{}
	}
	function struct {
		controlloop.ObjectMeta
		F func()
	}
	pointerKeys struct {
		controlloop.ObjectMeta
		M map[*Inner]int
	}
)

// TestNewRefusesTypeReflectionCannotCopy checks that New refuses a type
// without DeepCopy that reflection would copy unfaithfully, naming the
// field and the fix, and that a zero Store of such a type refuses writes
// with the same error (issue 12, item 6: before, the store shared the
// memory of such fields with its callers).
func TestNewRefusesTypeReflectionCannotCopy(t *testing.T) {
	for _, tc := range []struct {
		name string
		new  func() error
		zero func() error
		want string
	}{{
		name: "big.Int",
		new:  func() error { _, err := memstore.New[*Counter](memstore.Options{}); return err },
		zero: func() error {
			var s memstore.Store[*Counter]
			_, err := s.Create(context.Background(), &Counter{ObjectMeta: controlloop.ObjectMeta{Name: "c"}})
			return err
		},
		want: "memstore: type parameter T is *memstore_test.Counter: reflection cannot copy it faithfully " +
			"(at .Count.abs: unexported field of type big.nat refers to memory, which reflection cannot copy): " +
			"give it a method DeepCopy() *memstore_test.Counter: controlloop: invalid",
	}, {
		name: "unexported pointer",
		new:  func() error { _, err := memstore.New[*hiddenPointer](memstore.Options{}); return err },
		zero: func() error {
			var s memstore.Store[*hiddenPointer]
			_, err := s.Create(context.Background(), &hiddenPointer{ObjectMeta: controlloop.ObjectMeta{Name: "h"}, inner: &Inner{}})
			return err
		},
		want: "at .inner: unexported field of type *memstore_test.Inner",
	}, {
		name: "unexported map in a slice element",
		new:  func() error { _, err := memstore.New[*hiddenInSlice](memstore.Options{}); return err },
		want: "at .Items[].tags: unexported field of type map[string]string",
	}, {
		name: "channel",
		new:  func() error { _, err := memstore.New[*channel](memstore.Options{}); return err },
		want: "at .Done: a chan struct {} cannot be copied",
	}, {
		name: "function",
		new:  func() error { _, err := memstore.New[*function](memstore.Options{}); return err },
		want: "at .F: a func() cannot be copied",
	}, {
		name: "pointer map keys",
		new:  func() error { _, err := memstore.New[*pointerKeys](memstore.Options{}); return err },
		want: "at .M: the keys of map[*memstore_test.Inner]int refer to memory",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.new()
			if !errors.Is(err, controlloop.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v; want an error wrapping controlloop.ErrInvalid containing %q", err, tc.want)
			}
			if tc.zero == nil {
				return
			}
			if zerr := tc.zero(); zerr == nil || zerr.Error() != err.Error() {
				t.Fatalf("zero Store's Create = %v; want New's error %v", zerr, err)
			}
		})
	}
}

// TestDeepCopyMakesTypeStorable checks that a DeepCopy method lets the store
// hold a type reflection cannot copy, with no memory shared with callers.
func TestDeepCopyMakesTypeStorable(t *testing.T) {
	ctx := context.Background()
	s := must(memstore.New[*BigCounter](memstore.Options{}))
	in := &BigCounter{ObjectMeta: controlloop.ObjectMeta{Name: "c"}, Count: big.NewInt(1)}
	created, err := s.Create(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	in.Count.SetInt64(98)
	created.Count.SetInt64(99)
	got, err := s.Get(ctx, controlloop.Key{Name: "c"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Count.Int64() != 1 {
		t.Errorf("Count = %v, want 1: a caller's change reached the store", got.Count)
	}
}

// Graph has no DeepCopy method; its exported fields may form cycles.
type Graph struct {
	controlloop.ObjectMeta
	Head *Link
	Any  any
	Also *Link
}

type Link struct {
	N    int
	Next *Link
}

// TestCopyRefusesCycles checks that a write of an object holding a pointer
// cycle fails with ErrInvalid, and stores nothing, instead of overflowing
// the stack (issue 12, item 6), and that shared but acyclic pointers are
// copied.
func TestCopyRefusesCycles(t *testing.T) {
	ctx := context.Background()
	ring := &Link{N: 1}
	ring.Next = &Link{N: 2, Next: ring}
	selfMap := map[string]any{}
	selfMap["self"] = selfMap
	selfSlice := []any{nil}
	selfSlice[0] = selfSlice
	for name, g := range map[string]*Graph{
		"pointer ring":    {Head: ring},
		"map in itself":   {Any: selfMap},
		"slice in itself": {Any: selfSlice},
		"big.Int in any":  {Any: big.NewInt(1)},
	} {
		t.Run(name, func(t *testing.T) {
			s := must(memstore.New[*Graph](memstore.Options{}))
			g.Name = "g"
			if _, err := s.Create(ctx, g); !errors.Is(err, controlloop.ErrInvalid) {
				t.Fatalf("Create = %v, want an error wrapping ErrInvalid", err)
			} else {
				t.Log(err)
			}
			if s.Len() != 0 {
				t.Errorf("Len = %d after a refused create", s.Len())
			}
			ok, err := s.Create(ctx, &Graph{ObjectMeta: controlloop.ObjectMeta{Name: "g"}})
			if err != nil {
				t.Fatal(err)
			}
			g.ResourceVersion = ok.ResourceVersion
			if _, err := s.Update(ctx, g); !errors.Is(err, controlloop.ErrInvalid) {
				t.Fatalf("Update = %v, want an error wrapping ErrInvalid", err)
			}
			g.ResourceVersion = ""
		})
	}
	s := must(memstore.New[*Graph](memstore.Options{}))
	shared := &Link{N: 1, Next: &Link{N: 2}}
	created, err := s.Create(ctx, &Graph{ObjectMeta: controlloop.ObjectMeta{Name: "g"}, Head: shared, Also: shared, Any: shared})
	if err != nil {
		t.Fatalf("Create of shared, acyclic pointers: %v", err)
	}
	if created.Head == shared || created.Head.Next == shared.Next || created.Any.(*Link) == shared {
		t.Errorf("the copy shares memory with the caller's object")
	}
	if created.Head == created.Also || *created.Head.Next != *shared.Next {
		t.Errorf("a pointer shared within the object: got %+v and %+v, want separate copies of %+v", created.Head, created.Also, shared)
	}
}

// Tracked counts the copies the store makes with its DeepCopy method.
type Tracked struct {
	controlloop.ObjectMeta
	copies *atomic.Int32 // shared by all copies, so that they count together
}

func (t *Tracked) DeepCopy() *Tracked {
	t.copies.Add(1)
	c := *t
	return &c
}

// TestDeepCopyMethodIsUsed checks that a type's DeepCopy method makes the
// store's copies on every way in and out the package doc lists.
func TestDeepCopyMethodIsUsed(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := must(memstore.New[*Tracked](memstore.Options{}))
	copies := new(atomic.Int32)
	var obj *Tracked
	copied := func(op string, f func() error) {
		t.Helper()
		before := copies.Load()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		if copies.Load() == before {
			t.Errorf("%s made no copy with DeepCopy", op)
		}
	}
	copied("Create", func() (err error) {
		obj, err = s.Create(ctx, &Tracked{ObjectMeta: controlloop.ObjectMeta{Name: "t"}, copies: copies})
		return err
	})
	copied("Update", func() (err error) { obj, err = s.Update(ctx, obj); return err })
	copied("UpdateStatus", func() (err error) { obj, err = s.UpdateStatus(ctx, obj); return err })
	copied("Get", func() error { _, err := s.Get(ctx, controlloop.Key{Name: "t"}); return err })
	copied("All", func() error {
		for range s.All() {
		}
		return nil
	})
	copied("List", func() error { _, err := s.List(ctx, controlloop.ListOptions{}); return err })
	copied("Watch", func() error {
		events, err := s.Watch(ctx, controlloop.WatchOptions{ResourceVersion: "1"})
		if err != nil {
			return err
		}
		<-events // the replayed update
		return nil
	})
}
