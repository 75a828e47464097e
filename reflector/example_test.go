package reflector_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/reflector"
)

// printer is a minimal reflector.Store that prints what it is told.
type printer struct {
	calls chan string
}

func (p printer) Add(obj *Pod) error    { p.calls <- "add " + obj.Name; return nil }
func (p printer) Update(obj *Pod) error { p.calls <- "update " + obj.Name; return nil }
func (p printer) Delete(obj *Pod) error { p.calls <- "delete " + obj.Name; return nil }
func (p printer) Resync() error         { return nil }
func (p printer) Replace(items []*Pod, rv string) error {
	p.calls <- fmt.Sprintf("replace %d objects at version %s", len(items), rv)
	return nil
}

func ExampleReflector() {
	ctx := context.Background()
	store, err := memstore.New[*Pod](memstore.Options{})
	if err != nil {
		panic(err)
	}
	_, _ = store.Create(ctx, &Pod{ObjectMeta: controlloop.ObjectMeta{Name: "a"}})
	_, _ = store.Create(ctx, &Pod{ObjectMeta: controlloop.ObjectMeta{Name: "b"}})

	sink := printer{calls: make(chan string)}
	r, err := reflector.New[*Pod](store, sink, reflector.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- r.Run(runCtx) }()

	fmt.Println(<-sink.calls)
	// The reflector now watches from version 2.
	c, _ := store.Create(ctx, &Pod{ObjectMeta: controlloop.ObjectMeta{Name: "c"}})
	fmt.Println(<-sink.calls)
	_ = store.Delete(ctx, controlloop.KeyOf(c), controlloop.DeleteOptions{})
	fmt.Println(<-sink.calls)

	stop()
	fmt.Println("Run returned", <-done)
	fmt.Println("last version", r.LastSyncResourceVersion())
	// Output:
	// replace 2 objects at version 2
	// add c
	// delete c
	// Run returned <nil>
	// last version 4
}
