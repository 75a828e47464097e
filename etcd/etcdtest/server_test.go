package etcdtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/controlloop/controlloop/etcd/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/goleak"
	"go.uber.org/zap"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStartRestartKeepsData(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	t0 := time.Now()
	srv := etcdtest.Start(t, etcdtest.Options{})
	t.Logf("started in %v", time.Since(t0))
	c := srv.Client(t)
	put, err := c.Put(ctx, "k", "v1")
	if err != nil {
		t.Fatal(err)
	}
	wch := c.Watch(ctx, "k", clientv3.WithRev(put.Header.Revision+1))
	t0 = time.Now()
	if err := srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("restarted in %v", time.Since(t0))
	resp, err := c.Get(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "v1" {
		t.Fatalf("after restart: got %v", resp.Kvs)
	}
	if _, err := c.Put(ctx, "k", "v2"); err != nil {
		t.Fatal(err)
	}
	wr := <-wch
	if err := wr.Err(); err != nil || len(wr.Events) != 1 || string(wr.Events[0].Kv.Value) != "v2" {
		t.Fatalf("watch across restart: %v %v", err, wr.Events)
	}
}

func TestLinkPartitionAndHeal(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv := etcdtest.Start(t, etcdtest.Options{})
	other := srv.Client(t)
	link, err := srv.NewLink()
	if err != nil {
		t.Fatal(err)
	}
	c, err := clientv3.New(clientv3.Config{Endpoints: link.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Put(ctx, "k", "1"); err != nil {
		t.Fatal(err)
	}
	link.Partition()
	pctx, pcancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err = c.Put(pctx, "k", "2")
	pcancel()
	if err == nil {
		t.Fatal("a write through a partitioned link succeeded")
	}
	if _, err := other.Put(ctx, "k", "3"); err != nil {
		t.Fatalf("a partition of one link cut another client: %v", err)
	}
	link.Heal()
	if _, err := c.Put(ctx, "k", "4"); err != nil {
		t.Fatalf("after Heal: %v", err)
	}
	// Links follow the server across a restart. (The write held back by the
	// partition may have reached etcd after Heal, even after "4", as a
	// delayed packet would: either value is right.)
	if err := srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	resp, err := c.Get(ctx, "k")
	if err != nil {
		t.Fatalf("through the link after a restart: %v", err)
	}
	if v := string(resp.Kvs[0].Value); v != "4" && v != "2" {
		t.Fatalf("after a restart: %q, want the last write", v)
	}
}
