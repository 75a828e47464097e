package admission_test

import (
	"context"
	"errors"
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

func TestWrapNeedsCopyForMutators(t *testing.T) {
	type plain struct{ controlloop.ObjectMeta }
	store, err := memstore.New[*plain](memstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mut := func(context.Context, *plain) error { return nil }
	if _, err := admission.Wrap[*plain](store, admission.Options[*plain]{Mutators: []admission.Mutator[*plain]{mut}}); err == nil {
		t.Fatal("Wrap accepted mutators for a type without DeepCopy and no Copy")
	}
	if _, err := admission.Wrap[*plain](nil, admission.Options[*plain]{}); !errors.Is(err, controlloop.ErrInvalid) {
		t.Fatalf("Wrap(nil) = %v", err)
	}
}
