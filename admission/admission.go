package admission

import (
	"context"
	"fmt"
	"reflect"
	"strconv"

	"github.com/controlloop/controlloop"
)

// A Mutator changes obj in place before it is written, typically to set
// defaults. It receives a copy it may modify freely. An error refuses the
// write.
type Mutator[T controlloop.Object] func(ctx context.Context, obj T) error

// A Validator refuses obj by returning an error that says what is wrong.
type Validator[T controlloop.Object] func(ctx context.Context, obj T) error

// Options configure [Wrap].
type Options[T controlloop.Object] struct {
	// Mutators run first, in order, on Create and Update. None may be nil.
	Mutators []Mutator[T]
	// Validators run after the mutators, in order, on Create and Update.
	// None may be nil.
	Validators []Validator[T]
	// Copy returns a deep copy of an object, for the mutators to work on.
	// Defaults to T's DeepCopy method (DeepCopy() T); it must be set if
	// there are mutators and T has none.
	Copy func(T) T
}

// validate reports the first invalid option, with the defaults applied.
func (o Options[T]) validate() error {
	for i, m := range o.Mutators {
		if m == nil {
			return invalid("Options.Mutators["+strconv.Itoa(i)+"]", "nil", "must not be nil")
		}
	}
	for i, v := range o.Validators {
		if v == nil {
			return invalid("Options.Validators["+strconv.Itoa(i)+"]", "nil", "must not be nil")
		}
	}
	if o.Copy == nil && len(o.Mutators) > 0 {
		var zero T
		return invalid("Options.Copy", "nil", fmt.Sprintf("must be set when there are Mutators and %T has no DeepCopy method", zero))
	}
	return nil
}

// Client is a [controlloop.Client] with admission in front of its writes.
// Make one with [Wrap]. The zero Client has no backend: every method
// returns an error wrapping [controlloop.ErrInvalid].
type Client[T controlloop.Object] struct {
	next controlloop.Client[T] // the wrapped client; nil in a zero Client
	opts Options[T]
}

// Wrap returns c with admission in front of Create and Update. A nil c or
// invalid options yield an error wrapping [controlloop.ErrInvalid] that
// names what is wrong.
func Wrap[T controlloop.Object](c controlloop.Client[T], opts Options[T]) (*Client[T], error) {
	if c == nil || isNilPointer(c) {
		return nil, invalid("Wrap: client", "nil", "must not be nil")
	}
	if opts.Copy == nil {
		var zero T
		if _, ok := any(zero).(interface{ DeepCopy() T }); ok {
			opts.Copy = func(obj T) T { return any(obj).(interface{ DeepCopy() T }).DeepCopy() }
		}
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	return &Client[T]{next: c, opts: opts}, nil
}

// isNilPointer reports whether c holds a nil pointer, on which every method
// call would fail.
func isNilPointer(c any) bool {
	v := reflect.ValueOf(c)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// Create admits obj, then creates it.
func (c *Client[T]) Create(ctx context.Context, obj T) (T, error) {
	admitted, err := c.admit(ctx, obj)
	if err != nil {
		var zero T
		return zero, err
	}
	return c.next.Create(ctx, admitted)
}

// Update admits obj, then updates it.
func (c *Client[T]) Update(ctx context.Context, obj T) (T, error) {
	admitted, err := c.admit(ctx, obj)
	if err != nil {
		var zero T
		return zero, err
	}
	return c.next.Update(ctx, admitted)
}

// UpdateStatus passes obj straight to the wrapped client: a status write
// records what is, and is not admitted.
func (c *Client[T]) UpdateStatus(ctx context.Context, obj T) (T, error) {
	if c.next == nil {
		var zero T
		return zero, errZeroClient
	}
	return c.next.UpdateStatus(ctx, obj)
}

// Get passes through to the wrapped client.
func (c *Client[T]) Get(ctx context.Context, key controlloop.Key) (T, error) {
	if c.next == nil {
		var zero T
		return zero, errZeroClient
	}
	return c.next.Get(ctx, key)
}

// List passes through to the wrapped client.
func (c *Client[T]) List(ctx context.Context, opts controlloop.ListOptions) (controlloop.ListResult[T], error) {
	if c.next == nil {
		return controlloop.ListResult[T]{}, errZeroClient
	}
	return c.next.List(ctx, opts)
}

// Delete passes through to the wrapped client.
func (c *Client[T]) Delete(ctx context.Context, key controlloop.Key, opts controlloop.DeleteOptions) error {
	if c.next == nil {
		return errZeroClient
	}
	return c.next.Delete(ctx, key, opts)
}

func (c *Client[T]) admit(ctx context.Context, obj T) (T, error) {
	if c.next == nil {
		return obj, errZeroClient
	}
	if err := controlloop.Validate(obj); err != nil {
		return obj, fmt.Errorf("admission: %w", err)
	}
	if len(c.opts.Mutators) > 0 {
		obj = c.opts.Copy(obj)
		for _, m := range c.opts.Mutators {
			if err := m(ctx, obj); err != nil {
				return obj, fmt.Errorf("admission: %s refused by a mutator: %w", controlloop.KeyOf(obj), err)
			}
		}
	}
	for _, v := range c.opts.Validators {
		if err := v(ctx, obj); err != nil {
			return obj, fmt.Errorf("admission: %s is invalid: %w: %w", controlloop.KeyOf(obj), controlloop.ErrInvalid, err)
		}
	}
	return obj, nil
}
