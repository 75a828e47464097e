package reflector

import (
	"context"
	"errors"
	"fmt"

	"github.com/controlloop/controlloop"
)

// listAndReplace lists every selected object, page by page, and hands the
// whole set to the store. If a continue token expires mid-way, it lists
// again in one call rather than fail, as the pages no longer fit together.
func (r *Reflector[T]) listAndReplace(ctx context.Context) error {
	items, rv, err := r.list(ctx, r.opts.PageSize)
	if errors.Is(err, controlloop.ErrExpired) && r.opts.PageSize > 0 {
		r.log.Info("reflector: list pages expired, listing in one call", "err", err)
		items, rv, err = r.list(ctx, -1)
	}
	if err != nil {
		return err
	}
	if err := r.sink.Replace(items, rv); err != nil {
		return fmt.Errorf("%w: replace at version %s: %w", ErrStore, rv, err)
	}
	r.progressed(rv)
	r.log.Debug("reflector listed", "items", len(items), "resourceVersion", rv)
	return nil
}

// list reads every selected object in pages of pageSize (one call if
// pageSize is negative) and returns them with the list's version.
func (r *Reflector[T]) list(ctx context.Context, pageSize int) ([]T, string, error) {
	opts := controlloop.ListOptions{Selector: r.opts.Selector, Limit: max(pageSize, 0)}
	var items []T
	for {
		res, err := r.lw.List(ctx, opts)
		if err != nil {
			return nil, "", fmt.Errorf("%w: %w", ErrList, err)
		}
		r.progressed("")
		if items == nil {
			items = res.Items
		} else {
			items = append(items, res.Items...)
		}
		if res.Continue == "" {
			return items, res.ResourceVersion, nil
		}
		opts.Continue = res.Continue
	}
}
