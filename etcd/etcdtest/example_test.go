package etcdtest_test

import (
	"context"
	"fmt"
	"log"

	"github.com/controlloop/controlloop/etcd/etcdtest"
)

// A server keeps its data and its client endpoint across a restart.
func ExampleServer() {
	ctx := context.Background()
	srv, err := etcdtest.New(etcdtest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	if err := srv.Start(ctx); err != nil {
		log.Fatal(err)
	}
	client, err := srv.NewClient()
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	if _, err := client.Put(ctx, "greeting", "hello"); err != nil {
		log.Fatal(err)
	}
	if err := srv.Restart(ctx); err != nil {
		log.Fatal(err)
	}
	resp, err := client.Get(ctx, "greeting") // the client reconnects by itself
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", resp.Kvs[0].Value)
	// Output: hello
}
