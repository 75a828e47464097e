package etcd_test

// The compatibility suite: the same cases against every kind of etcd
// server available, the embedded one (go.etcd.io/etcd/server/v3/embed) and
// an installed binary (Debian's etcd-server is 3.4) run as separate
// processes, one member and a cluster of three. Without a binary the
// external kinds skip, saying how to install one; with CI set they fail
// (etcdtest.Binary). Issue 13.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/etcd"
	"github.com/controlloop/controlloop/etcd/etcdtest"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/reflector"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// serverKind is a kind of etcd server the compatibility suite runs on.
type serverKind struct {
	name     string
	external bool // run the installed binary, as processes
	members  int
}

var (
	embeddedKind = serverKind{"embedded", false, 1}
	externalKind = serverKind{"external", true, 1}
	clusterKind  = serverKind{"external-3", true, 3}
	// allKinds are the kinds every case runs on.
	allKinds = []serverKind{embeddedKind, externalKind, clusterKind}
)

// onEveryServer runs f as a subtest on a server of each kind, started
// with opts and the kind's binary and members.
func onEveryServer(t *testing.T, kinds []serverKind, opts etcdtest.Options, f func(t *testing.T, srv *etcdtest.Server)) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			o := opts
			o.Members = k.members
			if k.external {
				o.Binary = etcdtest.Binary(t)
			}
			srv := etcdtest.Start(t, o)
			t.Logf("etcd %s, %d member(s)", srv.Version(), len(srv.Members()))
			f(t, srv)
		})
	}
}

// startInformer runs an informer of src until the test ends and waits for
// its first sync.
func startInformer(t *testing.T, src *etcd.Source[*Pod]) *informer.Informer[*Pod] {
	t.Helper()
	inf, err := informer.New[*Pod](src, informer.Options[*Pod]{
		Logger: quietLog,
		Reflector: reflector.Options{
			Logger: quietLog, InitialBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- inf.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("informer Run: %v", err)
		}
	})
	eventually(t, 30*time.Second, "the informer's first sync", inf.HasSynced)
	return inf
}

// versions lists src whole, as key -> resource version; nil if the list
// fails (etcd may be recovering).
func versions(ctx context.Context, src *etcd.Source[*Pod]) map[controlloop.Key]string {
	got := map[controlloop.Key]string{}
	opts := controlloop.ListOptions{Limit: 500}
	for {
		lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		page, err := src.List(lctx, opts)
		cancel()
		if err != nil {
			return nil
		}
		for _, p := range page.Items {
			got[controlloop.KeyOf(p)] = p.ResourceVersion
		}
		if page.Continue == "" {
			return got
		}
		opts.Continue = page.Continue
	}
}

// cached is inf's cache as key -> resource version.
func cached(inf *informer.Informer[*Pod]) map[controlloop.Key]string {
	got := map[controlloop.Key]string{}
	for k, p := range inf.Reader().All() {
		got[k] = p.ResourceVersion
	}
	return got
}

// converges waits until inf's cache holds exactly what src holds, every
// object at its version, and fails t with the difference if it does not
// within timeout.
func converges(t *testing.T, inf *informer.Informer[*Pod], src *etcd.Source[*Pod], timeout time.Duration) {
	t.Helper()
	ctx := testContext(t, timeout)
	var store, cache map[controlloop.Key]string
	for {
		store, cache = versions(ctx, src), cached(inf)
		if store != nil && maps.Equal(store, cache) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the cache did not converge on etcd's contents within %v:\netcd:  %v\ncache: %v", timeout, store, cache)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// writer writes pods through src until stopped: creates, updates and
// deletes over a few names, retrying nothing (etcd may be down), and
// counts the writes that succeeded.
type writer struct {
	stop func()
	wg   sync.WaitGroup
	ok   atomic.Int64
}

func startWriter(src *etcd.Source[*Pod]) *writer {
	ctx, cancel := context.WithCancel(context.Background())
	w := &writer{stop: cancel}
	w.wg.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			wctx, wcancel := context.WithTimeout(ctx, time.Second)
			k := controlloop.Key{Namespace: "ns", Name: fmt.Sprintf("p%d", i%7)}
			var err error
			switch i % 3 {
			case 0:
				_, err = src.Create(wctx, pod(k.Namespace, k.Name, nil))
			case 1:
				var p *Pod
				if p, err = src.Get(wctx, k); err == nil {
					p.Spec = fmt.Sprint(i)
					_, err = src.Update(wctx, p)
				}
			case 2:
				err = src.Delete(wctx, k, controlloop.DeleteOptions{})
			}
			wcancel()
			if err == nil {
				w.ok.Add(1)
			}
			time.Sleep(5 * time.Millisecond) // a steady stream, not a flood
		}
	})
	return w
}

// wrote waits until n more writes have succeeded, failing t after timeout.
func (w *writer) wrote(t *testing.T, n int64, timeout time.Duration) {
	t.Helper()
	want := w.ok.Load() + n
	eventually(t, timeout, fmt.Sprintf("%d more writes", n), func() bool { return w.ok.Load() >= want })
}

// halt stops the writer.
func (w *writer) halt() {
	w.stop()
	w.wg.Wait()
}

// TestCompatKillMidWatch: etcd killed with SIGKILL (an embedded server is
// stopped) while an informer watches and a writer writes, then started on
// the same data directories: the informer's cache converges on etcd's
// contents.
func TestCompatKillMidWatch(t *testing.T) {
	onEveryServer(t, allKinds, etcdtest.Options{}, func(t *testing.T, srv *etcdtest.Server) {
		src := newSource(t, srv.Client(t))
		inf := startInformer(t, src)
		w := startWriter(src)
		defer w.halt()
		w.wrote(t, 5, 10*time.Second)
		srv.Kill()
		if err := srv.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		w.wrote(t, 5, 20*time.Second)
		w.halt()
		converges(t, inf, src, 30*time.Second)
	})
}

// TestCompatCompactionWhileCutOff: an informer's connection is held back
// (a partition) while objects change and etcd compacts its history past
// the informer's version; once the partition heals, the watch finds its
// revision compacted, the informer lists again, and its cache converges
// on etcd's contents, deletes included.
func TestCompatCompactionWhileCutOff(t *testing.T) {
	onEveryServer(t, allKinds, etcdtest.Options{}, func(t *testing.T, srv *etcdtest.Server) {
		ctx := testContext(t, 60*time.Second)
		writes := newSource(t, srv.Client(t))
		for i := range 5 {
			if _, err := writes.Create(ctx, pod("ns", fmt.Sprint("p", i), nil)); err != nil {
				t.Fatal(err)
			}
		}
		link, err := srv.NewLink()
		if err != nil {
			t.Fatal(err)
		}
		c := clientOf(t, link.Endpoints())
		src, err := etcd.New[*Pod](c, etcd.Options{Prefix: writes.Prefix(), Logger: quietLog})
		if err != nil {
			t.Fatal(err)
		}
		inf := startInformer(t, src)
		link.Partition()
		link.Cut() // new connections are held back too
		for i := range 3 {
			if err := writes.Delete(ctx, controlloop.Key{Namespace: "ns", Name: fmt.Sprint("p", i)}, controlloop.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		put, err := writes.Create(ctx, pod("ns", "new", nil))
		if err != nil {
			t.Fatal(err)
		}
		admin := srv.Client(t)
		var rev int64
		fmt.Sscan(put.ResourceVersion, &rev)
		if _, err := admin.Compact(ctx, rev, clientv3.WithCompactPhysical()); err != nil {
			t.Fatal(err)
		}
		link.Heal()
		converges(t, inf, writes, 30*time.Second)
	})
}

// TestCompatLeaderLoss: a cluster of three loses its raft leader (SIGKILL
// for processes) while an informer watches; writes go on through the other
// members, the informer sees them, and once the old leader is back its
// cache still equals etcd's contents.
func TestCompatLeaderLoss(t *testing.T) {
	embedded3 := serverKind{"embedded-3", false, 3}
	onEveryServer(t, []serverKind{embedded3, clusterKind}, etcdtest.Options{}, func(t *testing.T, srv *etcdtest.Server) {
		ctx := testContext(t, 60*time.Second)
		src := newSource(t, srv.Client(t))
		inf := startInformer(t, src)
		leader, err := srv.Leader(ctx)
		if err != nil {
			t.Fatal(err)
		}
		leader.Kill()
		eventually(t, 20*time.Second, "a write without the leader", func() bool {
			wctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			_, err := src.Create(wctx, pod("ns", "after-leader", nil))
			return err == nil || errors.Is(err, controlloop.ErrAlreadyExists)
		})
		eventually(t, 20*time.Second, "the informer to see a write made without the leader", func() bool {
			_, err := inf.Reader().Get(controlloop.Key{Namespace: "ns", Name: "after-leader"})
			return err == nil
		})
		if err := leader.Start(ctx); err != nil {
			t.Fatal(err)
		}
		w := startWriter(src)
		defer w.halt()
		w.wrote(t, 5, 20*time.Second)
		w.halt()
		converges(t, inf, src, 30*time.Second)
	})
}

// TestCompatMutualTLS: with mutual TLS, a ClientConfig with the CA and a
// client certificate reads, writes and watches; one without a certificate
// is refused.
func TestCompatMutualTLS(t *testing.T) {
	files, err := etcdtest.WriteTLSFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	onEveryServer(t, allKinds, etcdtest.Options{TLS: files}, func(t *testing.T, srv *etcdtest.Server) {
		ctx := testContext(t, 30*time.Second)
		c := configClient(t, etcd.ClientConfig{Endpoints: srv.Endpoints(), CAFile: files.CAFile, CertFile: files.ClientCertFile, KeyFile: files.ClientKeyFile})
		src := newSource(t, c)
		inf := startInformer(t, src)
		if _, err := src.Create(ctx, pod("ns", "a", nil)); err != nil {
			t.Fatal(err)
		}
		converges(t, inf, src, 10*time.Second)
		bare := configClient(t, etcd.ClientConfig{Endpoints: srv.Endpoints(), CAFile: files.CAFile})
		gctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if _, err := bare.Get(gctx, "/x"); err == nil {
			t.Error("a client without a certificate was served")
		}
	})
}

// clientOf returns a client of the endpoints, closed when t ends.
func clientOf(t *testing.T, endpoints []string) *clientv3.Client {
	t.Helper()
	return configClient(t, etcd.ClientConfig{Endpoints: endpoints})
}

// configClient returns the client that cc describes, closed when t ends.
func configClient(t *testing.T, cc etcd.ClientConfig) *clientv3.Client {
	t.Helper()
	cfg, err := cc.Config()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = quietZap()
	c, err := clientv3.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
