package admission_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/admission"
	"github.com/controlloop/controlloop/memstore"
)

// Volume is the object the example admits.
type Volume struct {
	controlloop.ObjectMeta
	SizeGB int
}

// DeepCopy gives the mutators a copy to change: the caller's object stays
// as it was.
func (v *Volume) DeepCopy() *Volume { c := *v; return &c }

// defaultSizeGB is a mutator: it fills in a default.
func defaultSizeGB(_ context.Context, v *Volume) error {
	if v.SizeGB == 0 {
		v.SizeGB = 10
	}
	return nil
}

// atMost1TB is a validator: it refuses what must never be stored.
func atMost1TB(_ context.Context, v *Volume) error {
	if v.SizeGB > 1024 {
		return errors.New("sizeGB must be at most 1024")
	}
	return nil
}

func ExampleWrap() {
	ctx := context.Background()
	store, err := memstore.New[*Volume](memstore.Options{})
	if err != nil {
		panic(err)
	}
	volumes, err := admission.Wrap[*Volume](store, admission.Options[*Volume]{
		Mutators:   []admission.Mutator[*Volume]{defaultSizeGB},
		Validators: []admission.Validator[*Volume]{atMost1TB},
	})
	if err != nil {
		panic(err)
	}

	in := &Volume{ObjectMeta: controlloop.ObjectMeta{Name: "data"}}
	created, err := volumes.Create(ctx, in)
	if err != nil {
		panic(err)
	}
	fmt.Println("created with", created.SizeGB, "GB; the caller's object still has", in.SizeGB)

	_, err = volumes.Create(ctx, &Volume{ObjectMeta: controlloop.ObjectMeta{Name: "huge"}, SizeGB: 4096})
	fmt.Println(errors.Is(err, controlloop.ErrInvalid))
	fmt.Println(err)
	fmt.Println(store.Len(), "object stored")
	// Output:
	// created with 10 GB; the caller's object still has 0
	// true
	// admission: huge is invalid: controlloop: invalid: sizeGB must be at most 1024
	// 1 object stored
}
