package admission_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/admission"
	"github.com/controlloop/controlloop/memstore"
)

type Widget struct {
	controlloop.ObjectMeta
	Size   *int
	Status string
}

func (w *Widget) DeepCopy() *Widget {
	c := *w
	if w.Size != nil {
		n := *w.Size
		c.Size = &n
	}
	return &c
}

var _ controlloop.Client[*Widget] = (*admission.Client[*Widget])(nil)

func defaultSize(_ context.Context, w *Widget) error {
	if w.Size == nil {
		one := 1
		w.Size = &one
	}
	return nil
}

func positiveSize(_ context.Context, w *Widget) error {
	if *w.Size < 0 {
		return errors.New("size must not be negative")
	}
	return nil
}

func newClient(t *testing.T) (*admission.Client[*Widget], *memstore.Store[*Widget]) {
	t.Helper()
	store, err := memstore.New[*Widget](memstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := admission.Wrap[*Widget](store, admission.Options[*Widget]{
		Mutators:   []admission.Mutator[*Widget]{defaultSize},
		Validators: []admission.Validator[*Widget]{positiveSize},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, store
}

func TestDefaultsAndValidates(t *testing.T) {
	ctx := context.Background()
	c, store := newClient(t)
	w := &Widget{ObjectMeta: controlloop.ObjectMeta{Name: "a"}}
	created, err := c.Create(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	if created.Size == nil || *created.Size != 1 {
		t.Fatalf("created Size = %v, want the default 1", created.Size)
	}
	if w.Size != nil {
		t.Fatal("admission modified the caller's object")
	}

	neg := -3
	created.Size = &neg
	if _, err := c.Update(ctx, created); !errors.Is(err, controlloop.ErrInvalid) {
		t.Fatalf("Update with a negative size = %v, want ErrInvalid", err)
	}
	if _, err := c.Create(ctx, &Widget{ObjectMeta: controlloop.ObjectMeta{Name: "b"}, Size: &neg}); !errors.Is(err, controlloop.ErrInvalid) {
		t.Fatalf("Create with a negative size = %v, want ErrInvalid", err)
	}
	if store.Len() != 1 {
		t.Fatalf("store holds %d objects, want 1: a refused write reached it", store.Len())
	}
	if _, err := c.Create(ctx, nil); !errors.Is(err, controlloop.ErrInvalid) {
		t.Fatalf("Create(nil) = %v, want ErrInvalid", err)
	}
}

func TestStatusPassesThrough(t *testing.T) {
	ctx := context.Background()
	c, store := newClient(t)
	// An invalid object written around the wrapper...
	neg := -1
	bad, err := store.Create(ctx, &Widget{ObjectMeta: controlloop.ObjectMeta{Name: "bad"}, Size: &neg})
	if err != nil {
		t.Fatal(err)
	}
	// ...can still have its status recorded through it.
	bad.Status = "Invalid: size must not be negative"
	if _, err := c.UpdateStatus(ctx, bad); err != nil {
		t.Fatalf("UpdateStatus of an invalid object = %v, want it to pass through", err)
	}
}

type plain struct{ controlloop.ObjectMeta }

func TestWrapRefusesInvalidOptions(t *testing.T) {
	widgets := must(memstore.New[*Widget](memstore.Options{}))
	plains := must(memstore.New[*plain](memstore.Options{}))
	noop := func(context.Context, *plain) error { return nil }
	cases := map[string]struct {
		wrap func() (any, error)
		want string
	}{
		"nil client": {func() (any, error) {
			return admission.Wrap[*Widget](nil, admission.Options[*Widget]{})
		}, "admission: Wrap: client is nil: must not be nil"},
		"nil pointer client": {func() (any, error) {
			return admission.Wrap[*Widget]((*memstore.Store[*Widget])(nil), admission.Options[*Widget]{})
		}, "admission: Wrap: client is nil: must not be nil"},
		"nil mutator": {func() (any, error) {
			return admission.Wrap[*Widget](widgets, admission.Options[*Widget]{
				Mutators: []admission.Mutator[*Widget]{defaultSize, nil}})
		}, "admission: Options.Mutators[1] is nil: must not be nil"},
		"nil validator": {func() (any, error) {
			return admission.Wrap[*Widget](widgets, admission.Options[*Widget]{
				Validators: []admission.Validator[*Widget]{nil}})
		}, "admission: Options.Validators[0] is nil: must not be nil"},
		"mutators without a copy": {func() (any, error) {
			return admission.Wrap[*plain](plains, admission.Options[*plain]{
				Mutators: []admission.Mutator[*plain]{noop}})
		}, "admission: Options.Copy is nil: must be set when there are Mutators and *admission_test.plain has no DeepCopy method"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := tc.wrap()
			if !errors.Is(err, controlloop.ErrInvalid) {
				t.Fatalf("Wrap = %v, %v; want an error wrapping controlloop.ErrInvalid", c, err)
			}
			if want := tc.want + ": " + controlloop.ErrInvalid.Error(); err.Error() != want {
				t.Fatalf("error %q, want %q", err, want)
			}
		})
	}
}

func TestWrapAcceptsCopyOrNoMutators(t *testing.T) {
	plains := must(memstore.New[*plain](memstore.Options{}))
	noop := func(context.Context, *plain) error { return nil }
	if _, err := admission.Wrap[*plain](plains, admission.Options[*plain]{}); err != nil {
		t.Errorf("Wrap with no mutators of a type without DeepCopy = %v", err)
	}
	cp := func(p *plain) *plain { c := *p; return &c }
	if _, err := admission.Wrap[*plain](plains, admission.Options[*plain]{
		Mutators: []admission.Mutator[*plain]{noop}, Copy: cp}); err != nil {
		t.Errorf("Wrap with mutators and Options.Copy = %v", err)
	}
}

func must[V any](v V, err error) V {
	if err != nil {
		panic(err)
	}
	return v
}

// TestOrderAndFirstErrorStops checks that mutators run in order, then
// validators in order, and that the first error stops the write before any
// later function or the backend sees it.
func TestOrderAndFirstErrorStops(t *testing.T) {
	ctx := context.Background()
	var ran []string
	step := func(name string, fail bool) func(context.Context, *Widget) error {
		return func(context.Context, *Widget) error {
			ran = append(ran, name)
			if fail {
				return errors.New(name + " refused")
			}
			return nil
		}
	}
	cases := []struct {
		name     string
		failAt   string
		wantRan  []string
		wantPass bool
	}{
		{"all pass", "", []string{"m1", "m2", "v1", "v2"}, true},
		{"mutator fails", "m1", []string{"m1"}, false},
		{"validator fails", "v1", []string{"m1", "m2", "v1"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			store := must(memstore.New[*Widget](memstore.Options{}))
			c := must(admission.Wrap[*Widget](store, admission.Options[*Widget]{
				Mutators:   []admission.Mutator[*Widget]{step("m1", tc.failAt == "m1"), step("m2", false)},
				Validators: []admission.Validator[*Widget]{step("v1", tc.failAt == "v1"), step("v2", false)},
			}))
			ran = nil
			_, err := c.Create(ctx, &Widget{ObjectMeta: controlloop.ObjectMeta{Name: "a"}})
			if (err == nil) != tc.wantPass {
				t.Fatalf("Create = %v, want pass %v", err, tc.wantPass)
			}
			if fmt.Sprint(ran) != fmt.Sprint(tc.wantRan) {
				t.Fatalf("ran %v, want %v", ran, tc.wantRan)
			}
			if want := map[bool]int{true: 1, false: 0}[tc.wantPass]; store.Len() != want {
				t.Fatalf("store holds %d objects, want %d", store.Len(), want)
			}
		})
	}
}

// TestReadsAndDeletePassThrough checks that Get, List and Delete reach the
// backend without admission: an object that admission would refuse can be
// read and deleted through the wrapper.
func TestReadsAndDeletePassThrough(t *testing.T) {
	ctx := context.Background()
	c, store := newClient(t)
	neg := -1
	bad, err := store.Create(ctx, &Widget{ObjectMeta: controlloop.ObjectMeta{Name: "bad"}, Size: &neg})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, controlloop.KeyOf(bad)); err != nil {
		t.Fatalf("Get of an invalid object = %v", err)
	}
	list, err := c.List(ctx, controlloop.ListOptions{})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("List = %v, %v; want the invalid object", list, err)
	}
	if err := c.Delete(ctx, controlloop.KeyOf(bad), controlloop.DeleteOptions{}); err != nil {
		t.Fatalf("Delete of an invalid object = %v", err)
	}
	if store.Len() != 0 {
		t.Fatalf("store holds %d objects after Delete", store.Len())
	}
}

// TestConcurrentWrites runs writes through one Client from many goroutines;
// run it under -race.
func TestConcurrentWrites(t *testing.T) {
	ctx := context.Background()
	c, store := newClient(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			name := "w" + strconv.Itoa(i)
			w, err := c.Create(ctx, &Widget{ObjectMeta: controlloop.ObjectMeta{Name: name}})
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := c.Update(ctx, w); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if store.Len() != 8 {
		t.Fatalf("store holds %d objects, want 8", store.Len())
	}
}

// TestZeroClient checks that every method of a zero Client returns an
// error wrapping ErrInvalid instead of panicking.
func TestZeroClient(t *testing.T) {
	ctx := context.Background()
	var c admission.Client[*Widget]
	w := &Widget{ObjectMeta: controlloop.ObjectMeta{Name: "a", ResourceVersion: "1"}}
	key := controlloop.Key{Name: "a"}
	for name, call := range map[string]func() error{
		"Create":       func() error { _, err := c.Create(ctx, w); return err },
		"Update":       func() error { _, err := c.Update(ctx, w); return err },
		"UpdateStatus": func() error { _, err := c.UpdateStatus(ctx, w); return err },
		"Get":          func() error { _, err := c.Get(ctx, key); return err },
		"List":         func() error { _, err := c.List(ctx, controlloop.ListOptions{}); return err },
		"Delete":       func() error { return c.Delete(ctx, key, controlloop.DeleteOptions{}) },
	} {
		if err := call(); !errors.Is(err, controlloop.ErrInvalid) {
			t.Errorf("%s on a zero Client = %v, want an error wrapping ErrInvalid", name, err)
		}
	}
}
