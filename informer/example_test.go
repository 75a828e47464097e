package informer_test

import (
	"context"
	"fmt"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/memstore"
)

func ExampleInformer() {
	ctx := context.Background()
	store, err := memstore.New[*Pod](memstore.Options{})
	if err != nil {
		panic(err)
	}
	_, _ = store.Create(ctx, pod("default", "web-1"))

	inf, err := informer.New[*Pod](store, informer.Options[*Pod]{})
	if err != nil {
		panic(err)
	}
	events := make(chan string, 10)
	reg, err := inf.AddHandler(informer.HandlerFuncs[*Pod]{
		AddFunc: func(p *Pod, initial bool) { events <- fmt.Sprintf("add %s initial=%v", p.Name, initial) },
		DeleteFunc: func(p *Pod, unknown bool) {
			events <- fmt.Sprintf("delete %s", p.Name)
		},
	}, informer.HandlerOptions{})
	if err != nil {
		panic(err)
	}

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- inf.Run(runCtx) }()
	if err := informer.WaitForCacheSync(ctx, reg.HasSynced); err != nil {
		panic(err)
	}
	fmt.Println(<-events)

	_, _ = store.Create(ctx, pod("default", "web-2"))
	fmt.Println(<-events)
	_ = store.Delete(ctx, controlloop.Key{Namespace: "default", Name: "web-1"}, controlloop.DeleteOptions{})
	fmt.Println(<-events)
	fmt.Println(inf.Reader().Len(), "pod cached")

	stop()
	<-done
	// Output:
	// add web-1 initial=true
	// add web-2 initial=false
	// delete web-1
	// 1 pod cached
}

// A readiness probe: ready once the cache has synced, and not while the
// informer fails to list or watch its source.
func ExampleInformer_Ready() {
	store, err := memstore.New[*Pod](memstore.Options{})
	if err != nil {
		panic(err)
	}
	inf, err := informer.New[*Pod](store, informer.Options[*Pod]{Name: "pods"})
	if err != nil {
		panic(err)
	}
	probe := func() {
		if err := inf.Ready(); err != nil {
			fmt.Println("503:", err)
			return
		}
		fmt.Println("200: synced", inf.Health().Synced)
	}
	probe()

	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- inf.Run(ctx) }()
	if err := informer.WaitForCacheSync(ctx, inf.HasSynced); err != nil {
		panic(err)
	}
	probe()
	stop()
	<-done
	// Output:
	// 503: informer: not synced: pods
	// 200: synced true
}
