package etcd_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/etcd"
	"github.com/controlloop/controlloop/etcd/etcdtest"
)

// startServer starts an embedded etcd for an example.
func startServer() (*etcdtest.Server, func()) {
	srv, err := etcdtest.New(etcdtest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	return srv, func() { _ = srv.Close() }
}

func ExampleSource() {
	srv, stop := startServer()
	defer stop()
	client, err := srv.NewClient()
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	ctx := context.Background()

	pods, err := etcd.New[*Pod](client, etcd.Options{Prefix: "/example/pods"})
	if err != nil {
		log.Fatal(err)
	}
	web, err := pods.Create(ctx, &Pod{ObjectMeta: controlloop.ObjectMeta{Namespace: "prod", Name: "web"}, Spec: "v1"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("created", controlloop.KeyOf(web), "generation", web.Generation, "stored under", pods.Key(controlloop.KeyOf(web)))

	// Watch every change after the create.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, err := pods.Watch(wctx, controlloop.WatchOptions{ResourceVersion: web.ResourceVersion})
	if err != nil {
		log.Fatal(err)
	}

	stale := *web
	web.Spec = "v2"
	if web, err = pods.Update(ctx, web); err != nil {
		log.Fatal(err)
	}
	_, err = pods.Update(ctx, &stale)
	fmt.Println("stale update:", err)
	ev := <-events
	fmt.Println(ev.Type, controlloop.KeyOf(ev.Object), ev.Object.Spec, "generation", ev.Object.Generation)

	// Output:
	// created prod/web generation 1 stored under /example/pods/prod/web
	// stale update: etcd: update prod/web: controlloop: conflict: version 2, stored 3
	// Modified prod/web v2 generation 2
}

func ExampleElector() {
	srv, stop := startServer()
	defer stop()
	client, err := srv.NewClient()
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)

	a, _ := etcd.NewElector(client, etcd.ElectorOptions{Prefix: "/example/election", Identity: "replica-a", Logger: quiet})
	b, _ := etcd.NewElector(client, etcd.ElectorOptions{Prefix: "/example/election", Identity: "replica-b", Logger: quiet})

	actx, stopA := context.WithCancel(ctx)
	leadA, err := a.Lead(actx)
	if err != nil {
		log.Fatal(err)
	}
	leader, _ := a.Leader(ctx)
	fmt.Println("leader:", leader)

	bctx, stopB := context.WithCancel(ctx)
	bLeads := make(chan context.Context)
	go func() {
		leadB, err := b.Lead(bctx)
		if err != nil {
			log.Fatal(err)
		}
		bLeads <- leadB
	}()

	// Writes fenced by a's election commit only while a leads.
	pods, _ := etcd.New[*Pod](client, etcd.Options{Prefix: "/example/pods"})
	fenced := pods.Fenced(a)
	if _, err := fenced.Create(leadA, &Pod{ObjectMeta: controlloop.ObjectMeta{Name: "x"}}); err != nil {
		log.Fatal(err)
	}

	stopA() // a resigns; b, next in line, leads
	<-bLeads
	leader, _ = b.Leader(ctx)
	fmt.Println("leader:", leader)
	_, err = fenced.Create(context.WithoutCancel(leadA), &Pod{ObjectMeta: controlloop.ObjectMeta{Name: "y"}})
	fmt.Println("a's late write refused:", err != nil)

	// Shut down: b resigns too; Wait returns once both have let go of etcd.
	stopB()
	a.Wait()
	b.Wait()
	// Output:
	// leader: replica-a
	// leader: replica-b
	// a's late write refused: true
}
