package admission

import (
	"context"
	"fmt"

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
	// Mutators run first, in order, on Create and Update.
	Mutators []Mutator[T]
	// Validators run after the mutators, in order, on Create and Update.
	Validators []Validator[T]
	// Copy returns a deep copy of an object, for the mutators to work on.
	// Defaults to T's DeepCopy method; Wrap fails if T has none and Copy is
	// nil while there are mutators.
	Copy func(T) T
}

// Client is a [controlloop.Client] with admission in front of its writes.
type Client[T controlloop.Object] struct {
	controlloop.Client[T]
	opts Options[T]
}

// Wrap returns c with admission in front of Create and Update.
func Wrap[T controlloop.Object](c controlloop.Client[T], opts Options[T]) (*Client[T], error) {
	if c == nil {
		return nil, fmt.Errorf("admission: nil client: %w", controlloop.ErrInvalid)
	}
	if opts.Copy == nil {
		var zero T
		if _, ok := any(zero).(interface{ DeepCopy() T }); ok {
			opts.Copy = func(obj T) T { return any(obj).(interface{ DeepCopy() T }).DeepCopy() }
		} else if len(opts.Mutators) > 0 {
			return nil, fmt.Errorf("admission: %T has no DeepCopy method and Options.Copy is nil", zero)
		}
	}
	return &Client[T]{Client: c, opts: opts}, nil
}

// Create admits obj, then creates it.
func (c *Client[T]) Create(ctx context.Context, obj T) (T, error) {
	admitted, err := c.admit(ctx, obj)
	if err != nil {
		var zero T
		return zero, err
	}
	return c.Client.Create(ctx, admitted)
}

// Update admits obj, then updates it.
func (c *Client[T]) Update(ctx context.Context, obj T) (T, error) {
	admitted, err := c.admit(ctx, obj)
	if err != nil {
		var zero T
		return zero, err
	}
	return c.Client.Update(ctx, admitted)
}

func (c *Client[T]) admit(ctx context.Context, obj T) (T, error) {
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
