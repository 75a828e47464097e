package controller

import (
	"context"
	"errors"
	"fmt"

	"github.com/controlloop/controlloop"
)

// WriteStatus writes status as obj's status (the field that field
// returns) through c, if it differs from what obj shows; observed is the
// generation status describes. On a conflict it reads the object again
// from the store and retries on the fresh copy, rather than overwriting a
// change it has not seen, unless the fresh copy's spec has moved on from
// observed: the update's event brings a new reconcile. The Deployment
// example writes its status with it too.
func WriteStatus[T interface {
	controlloop.Object
	DeepCopy() T
}, S comparable](ctx context.Context, c controlloop.Client[T], obj T, status S, observed int64, field func(T) *S) error {
	const attempts = 5
	for range attempts {
		if *field(obj) == status {
			return nil
		}
		next := obj.DeepCopy()
		*field(next) = status
		_, err := c.UpdateStatus(ctx, next)
		if !errors.Is(err, controlloop.ErrConflict) {
			return err
		}
		if obj, err = c.Get(ctx, controlloop.KeyOf(obj)); err != nil {
			return err
		}
		if obj.GetObjectMeta().Generation != observed {
			return nil
		}
	}
	return fmt.Errorf("status of %s: still conflicting after %d attempts: %w", controlloop.KeyOf(obj), attempts, controlloop.ErrConflict)
}
