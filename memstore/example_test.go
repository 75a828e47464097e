package memstore_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/memstore"
)

func ExampleStore() {
	ctx := context.Background()
	store, err := memstore.New[*Pod](memstore.Options{})
	if err != nil {
		panic(err)
	}

	web, _ := store.Create(ctx, &Pod{ObjectMeta: controlloop.ObjectMeta{Namespace: "default", Name: "web"}})
	fmt.Println("created at", web.ResourceVersion, "generation", web.Generation)

	// Watch every change after the create.
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	events, _ := store.Watch(wctx, controlloop.WatchOptions{ResourceVersion: web.ResourceVersion})

	web.Spec = "v2"
	updated, _ := store.Update(ctx, web)
	fmt.Println("updated to", updated.ResourceVersion, "generation", updated.Generation)

	// web still carries version 1: a second update from it is stale.
	_, err = store.Update(ctx, web)
	fmt.Println("stale update conflicts:", errors.Is(err, controlloop.ErrConflict))

	_ = store.Delete(ctx, controlloop.KeyOf(web), controlloop.DeleteOptions{})
	for range 2 {
		ev := <-events
		fmt.Println(ev.Type, controlloop.KeyOf(ev.Object), ev.ResourceVersion)
	}
	// Output:
	// created at 1 generation 1
	// updated to 2 generation 2
	// stale update conflicts: true
	// Modified default/web 2
	// Deleted default/web 3
}

func ExampleStore_List() {
	ctx := context.Background()
	store, err := memstore.New[*Pod](memstore.Options{})
	if err != nil {
		panic(err)
	}
	for _, name := range []string{"a", "b", "c"} {
		_, _ = store.Create(ctx, &Pod{ObjectMeta: controlloop.ObjectMeta{Name: name}})
	}
	opts := controlloop.ListOptions{Limit: 2}
	for {
		page, _ := store.List(ctx, opts)
		for _, p := range page.Items {
			fmt.Print(p.Name, " ")
		}
		fmt.Println("at version", page.ResourceVersion)
		if page.Continue == "" {
			break
		}
		opts.Continue = page.Continue
		// Writes between pages do not show: every page reads version 3.
		_, _ = store.Create(ctx, &Pod{ObjectMeta: controlloop.ObjectMeta{Name: "d"}})
	}
	// Output:
	// a b at version 3
	// c at version 3
}

func ExampleStore_Compact() {
	ctx := context.Background()
	store, err := memstore.New[*Pod](memstore.Options{})
	if err != nil {
		panic(err)
	}
	for _, name := range []string{"a", "b", "c"} {
		_, _ = store.Create(ctx, &Pod{ObjectMeta: controlloop.ObjectMeta{Name: name}})
	}
	_ = store.Compact("2")
	_, err = store.Watch(ctx, controlloop.WatchOptions{ResourceVersion: "1"})
	fmt.Println(errors.Is(err, controlloop.ErrExpired))
	// Output: true
}
