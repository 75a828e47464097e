package etcdtest_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/controlloop/controlloop"
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

// TestNewRejectsBadOptions: New refuses each invalid option with
// ErrInvalid, naming the field and the rule, and starts nothing.
func TestNewRejectsBadOptions(t *testing.T) {
	for _, tc := range []struct {
		opts etcdtest.Options
		want string
	}{
		{etcdtest.Options{ProgressNotifyInterval: -time.Second}, "etcdtest: Options.ProgressNotifyInterval is -1s: must not be negative"},
		{etcdtest.Options{StartTimeout: -time.Second}, "etcdtest: Options.StartTimeout is -1s: must not be negative"},
		{etcdtest.Options{TLS: &etcdtest.TLSFiles{KeyFile: "k"}}, "etcdtest: Options.TLS.CertFile is empty: a TLS server needs a certificate"},
		{etcdtest.Options{TLS: &etcdtest.TLSFiles{CertFile: "c"}}, "etcdtest: Options.TLS.KeyFile is empty: a TLS server needs the key of its certificate"},
		{etcdtest.Options{TLS: &etcdtest.TLSFiles{CertFile: "c", KeyFile: "k", ClientCertAuth: true}}, "etcdtest: Options.TLS.CAFile is empty: ClientCertAuth needs the CAs"},
		{etcdtest.Options{TLS: &etcdtest.TLSFiles{CertFile: "c", KeyFile: "k", ClientCertFile: "cc"}}, `etcdtest: Options.TLS.ClientKeyFile is "": ClientCertFile and ClientKeyFile go together`},
		{etcdtest.Options{TLS: &etcdtest.TLSFiles{CertFile: "c", KeyFile: "k", ClientKeyFile: "ck"}}, `etcdtest: Options.TLS.ClientKeyFile is "ck": ClientCertFile and ClientKeyFile go together`},
		{etcdtest.Options{Binary: "etcd", TLS: &etcdtest.TLSFiles{CertFile: "c", KeyFile: "k", CAFile: "ca", ClientCertAuth: true}}, "etcdtest: Options.TLS.ClientCertFile is empty: an external server with ClientCertAuth needs a client certificate"},
		{etcdtest.Options{Members: -1}, "etcdtest: Options.Members is -1: must be between 0 (one member) and 7"},
		{etcdtest.Options{Members: 8}, "etcdtest: Options.Members is 8: must be between 0 (one member) and 7"},
		{etcdtest.Options{Auth: &etcdtest.Auth{TokenTTL: -time.Second}}, "etcdtest: Options.Auth.TokenTTL is -1s: must not be negative"},
		{etcdtest.Options{Auth: &etcdtest.Auth{TokenTTL: 1500 * time.Millisecond}}, "etcdtest: Options.Auth.TokenTTL is 1.5s: must be whole seconds"},
		{etcdtest.Options{Auth: &etcdtest.Auth{User: "root"}}, `etcdtest: Options.Auth.User is "root": must not be root`},
	} {
		s, err := etcdtest.New(tc.opts)
		if !errors.Is(err, controlloop.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want ErrInvalid with %q", tc.opts, err, tc.want)
		}
		if s != nil {
			s.Close()
		}
	}
}

// TestServerLifecycle: Start on a running server fails with ErrRunning,
// and Start and NewLink after Close with ErrClosed; Close is idempotent,
// removes the temporary directory New made and keeps a given Options.Dir.
func TestServerLifecycle(t *testing.T) {
	ctx := t.Context()
	own, err := etcdtest.New(etcdtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := own.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := own.Start(ctx); !errors.Is(err, etcdtest.ErrRunning) {
		t.Errorf("Start of a running server: %v, want ErrRunning", err)
	}
	if err := own.Close(); err != nil {
		t.Fatal(err)
	}
	if err := own.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := os.Stat(own.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the temporary data directory after Close: %v, want it removed", err)
	}
	if err := own.Start(ctx); !errors.Is(err, etcdtest.ErrClosed) {
		t.Errorf("Start after Close: %v, want ErrClosed", err)
	}
	if _, err := own.NewLink(); !errors.Is(err, etcdtest.ErrClosed) {
		t.Errorf("NewLink after Close: %v, want ErrClosed", err)
	}

	dir := filepath.Join(t.TempDir(), "data")
	given, err := etcdtest.New(etcdtest.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := given.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := given.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("the given data directory after Close: %v, want it kept", err)
	}
}

// TestCutsConnections: CutConnections and Stop close the connections open
// through the server's endpoint, and Link.Cut those through the link,
// leaving the others open.
func TestCutsConnections(t *testing.T) {
	srv := etcdtest.Start(t, etcdtest.Options{})
	link, err := srv.NewLink()
	if err != nil {
		t.Fatal(err)
	}
	dialSilent := func(endpoint string) net.Conn {
		t.Helper()
		u, err := url.Parse(endpoint)
		if err != nil {
			t.Fatal(err)
		}
		c, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	dial := func(endpoint string) net.Conn {
		t.Helper()
		c := dialSilent(endpoint)
		// A request answered through the proxy: the connection is open
		// end to end (the proxy has taken it on), and etcd keeps it alive.
		if _, err := io.WriteString(c, "GET /version HTTP/1.1\r\nHost: etcd\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /version: %v %v", resp.Status, err)
		}
		return c
	}
	// closed reports whether the proxy closed c within d.
	closed := func(c net.Conn, d time.Duration) bool {
		c.SetReadDeadline(time.Now().Add(d))
		_, err := c.Read(make([]byte, 1))
		var ne net.Error
		return err != nil && !(errors.As(err, &ne) && ne.Timeout())
	}
	main, viaLink := dial(srv.Endpoints()[0]), dial(link.Endpoints()[0])
	srv.CutConnections()
	if !closed(main, 5*time.Second) {
		t.Error("CutConnections left a connection open")
	}
	if closed(viaLink, 200*time.Millisecond) {
		t.Error("CutConnections cut a link's connection")
	}
	link.Cut()
	if !closed(viaLink, 5*time.Second) {
		t.Error("Link.Cut left its connection open")
	}
	// A connection that sends nothing, which etcd would wait on: the
	// proxy takes connections in order, so it has taken this one on once
	// the next is answered.
	silent := dialSilent(srv.Endpoints()[0])
	main, viaLink = dial(srv.Endpoints()[0]), dial(link.Endpoints()[0])
	if closed(main, 200*time.Millisecond) || closed(viaLink, 200*time.Millisecond) {
		t.Fatal("a new connection was closed at once")
	}
	stopped := make(chan struct{})
	go func() { srv.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not return with a silent connection open")
	}
	if !closed(main, 5*time.Second) || !closed(viaLink, 5*time.Second) || !closed(silent, 5*time.Second) {
		t.Error("Stop left a connection open")
	}
}
