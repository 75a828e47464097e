// Command quickstart is the README's quick start, whole: a controller that
// creates the Pods a ReplicaSet asks for, on the in-memory store.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/indexer"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/reconcile"
)

// Your types embed ObjectMeta; a pointer to them is a controlloop.Object.
type ReplicaSet struct {
	controlloop.ObjectMeta
	Replicas int
}

type Pod struct {
	controlloop.ObjectMeta
}

// byOwner indexes Pods by the key of the ReplicaSet that controls them.
func byOwner(p *Pod) ([]string, error) {
	if ref, ok := p.ControllerRef(); ok {
		return []string{controlloop.Key{Namespace: p.Namespace, Name: ref.Name}.String()}, nil
	}
	return nil, nil
}

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	ctx, stop := context.WithCancel(ctx)
	defer stop()

	// A source: the in-memory store here, etcd (nested module) in production.
	rsStore, err1 := memstore.New[*ReplicaSet](memstore.Options{})
	podStore, err2 := memstore.New[*Pod](memstore.Options{})

	// Shared informers keep indexed caches fresh.
	var factory informer.Factory
	rsInf, err3 := informer.Shared(&factory, rsStore, informer.Options[*ReplicaSet]{})
	podInf, err4 := informer.Shared(&factory, podStore, informer.Options[*Pod]{
		Indexers: indexer.Indexers[*Pod]{"owner": byOwner},
	})
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return err
	}

	// The reconciler reads the caches, compares, and acts.
	r := reconcile.Func[reconcile.Request](func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
		rs, err := rsInf.Reader().Get(req)
		if errors.Is(err, controlloop.ErrNotFound) {
			return reconcile.Result{}, nil // deleted meanwhile: nothing to do
		}
		owned, err := podInf.Reader().ByIndex("owner", req.String())
		if err != nil {
			return reconcile.Result{}, err
		}
		for i := len(controlloop.Collect(owned)); i < rs.Replicas; i++ {
			pod := &Pod{ObjectMeta: controlloop.ObjectMeta{
				Namespace:       rs.Namespace,
				Name:            fmt.Sprintf("%s-%d", rs.Name, i),
				OwnerReferences: []controlloop.OwnerReference{controlloop.OwnerOf(rs, true)},
			}}
			// A name taken already means a Pod the cache has not shown yet.
			if _, err := podStore.Create(ctx, pod); err != nil && !errors.Is(err, controlloop.ErrAlreadyExists) {
				return reconcile.Result{}, err
			}
		}
		return reconcile.Result{}, nil
	})
	ctl, err := reconcile.New(r, reconcile.Options[reconcile.Request]{Name: "replicaset"})
	if err != nil {
		return err
	}

	// ReplicaSet events enqueue the ReplicaSet; Pod events enqueue their owner.
	if _, err := reconcile.Watch(ctl, rsInf, reconcile.ForObject[*ReplicaSet]()); err != nil {
		return err
	}
	if _, err := reconcile.Watch(ctl, podInf, reconcile.ForOwner[*Pod, *ReplicaSet](true)); err != nil {
		return err
	}

	// Stop once the third Pod is in the cache.
	created := 0
	_, err = podInf.AddHandler(informer.HandlerFuncs[*Pod]{AddFunc: func(p *Pod, _ bool) {
		fmt.Println("pod", controlloop.KeyOf(p), "created")
		if created++; created == 3 {
			fmt.Println("3 pods for default/web")
			stop()
		}
	}}, informer.HandlerOptions{})
	if err != nil {
		return err
	}
	if _, err := rsStore.Create(ctx, &ReplicaSet{
		ObjectMeta: controlloop.ObjectMeta{Namespace: "default", Name: "web"},
		Replicas:   3,
	}); err != nil {
		return err
	}

	// One Run; on shutdown the controllers stop before the caches they read.
	var m reconcile.Manager
	m.AddCache(&factory)
	m.AddController(ctl)
	return m.Run(ctx)
}
