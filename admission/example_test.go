package admission_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/admission"
	"github.com/controlloop/controlloop/memstore"
)

func ExampleWrap() {
	ctx := context.Background()
	store, err := memstore.New[*Widget](memstore.Options{})
	if err != nil {
		panic(err)
	}
	widgets, err := admission.Wrap[*Widget](store, admission.Options[*Widget]{
		Mutators:   []admission.Mutator[*Widget]{defaultSize},
		Validators: []admission.Validator[*Widget]{positiveSize},
	})
	if err != nil {
		panic(err)
	}

	w, _ := widgets.Create(ctx, &Widget{ObjectMeta: controlloop.ObjectMeta{Name: "a"}})
	fmt.Println("defaulted size:", *w.Size)

	neg := -2
	_, err = widgets.Create(ctx, &Widget{ObjectMeta: controlloop.ObjectMeta{Name: "b"}, Size: &neg})
	fmt.Println(errors.Is(err, controlloop.ErrInvalid))
	fmt.Println(err)
	// Output:
	// defaulted size: 1
	// true
	// admission: b is invalid: controlloop: invalid: size must not be negative
}
