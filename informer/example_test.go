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
	fmt.Println(len(inf.Lister().ByNamespace("default")), "pod cached")

	stop()
	<-done
	// Output:
	// add web-1 initial=true
	// add web-2 initial=false
	// delete web-1
	// 1 pod cached
}
