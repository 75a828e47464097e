package etcd_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/etcd"
	"github.com/controlloop/controlloop/etcd/etcdtest"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
)

const secret = "s3cr3t-pa55"

func TestClientConfigNeverShowsPassword(t *testing.T) {
	for _, c := range []etcd.ClientConfig{
		{Endpoints: []string{"https://e:2379"}, Username: "root", Password: secret, CAFile: "/ca.pem"},
		{Endpoints: []string{"https://e:2379"}, Username: "root", PasswordFile: "/pw"},
	} {
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("connecting", "etcd", c)
		slog.New(slog.NewTextHandler(&buf, nil)).Info("connecting", "etcd", c)
		fmt.Fprintf(&buf, "%v %+v %#v %s", c, c, c, c)
		if out := buf.String(); strings.Contains(out, secret) || !strings.Contains(out, "root") {
			t.Errorf("printed config shows the password or hides the user:\n%s", out)
		}
	}
}

func TestClientConfigFlags(t *testing.T) {
	srv := etcdtest.Start(t, etcdtest.Options{Auth: &etcdtest.Auth{RootPassword: secret}})
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var c etcd.ClientConfig
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	c.RegisterFlags(fs)
	endpoints := "http://a:1, " + srv.Endpoints()[0]
	if err := fs.Parse([]string{"-endpoints", endpoints, "-etcd-user", "root", "-etcd-password-file", pw,
		"-etcd-dial-timeout", "2s", "-etcd-max-reconnect-delay", "1s"}); err != nil {
		t.Fatal(err)
	}
	if c.MaxReconnectDelay != time.Second || c.Username != "root" || c.PasswordFile != pw {
		t.Errorf("from flags: %+v", c)
	}
	cfg, err := c.Config()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfg.Endpoints, " ") != "http://a:1 "+srv.Endpoints()[0] || cfg.DialTimeout != 2*time.Second || cfg.TLS != nil {
		t.Errorf("config from flags: %v %v %v", cfg.Endpoints, cfg.DialTimeout, cfg.TLS)
	}
	// The password read from the file authenticates.
	cfg.Endpoints = srv.Endpoints()
	cfg.Logger = quietZap()
	cl, err := clientv3.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := cl.Put(testContext(t, 10*time.Second), "/flags", "x"); err != nil {
		t.Errorf("as the user of the flags: %v", err)
	}
}

// TestClientConfigErrors: Config refuses each incomplete or inconsistent
// config with ErrInvalid naming the field and the rule, and never shows
// the password in an error.
func TestClientConfigErrors(t *testing.T) {
	ep := []string{"http://a:1"}
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	emptyPW := filepath.Join(dir, "pw")
	for file, data := range map[string]string{notPEM: "not pem", emptyPW: "\n" + secret + "\n"} {
		if err := os.WriteFile(file, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		c    etcd.ClientConfig
		want string
	}{
		{etcd.ClientConfig{}, "etcd: ClientConfig.Endpoints is empty: at least one endpoint is required"},
		{etcd.ClientConfig{Endpoints: []string{"http://a:1", " "}}, `etcd: ClientConfig.Endpoints[1] is " ": must not be blank`},
		{etcd.ClientConfig{Endpoints: ep, CertFile: "c.pem"}, "etcd: ClientConfig.KeyFile is empty: CertFile needs its key"},
		{etcd.ClientConfig{Endpoints: ep, KeyFile: "k.pem"}, "etcd: ClientConfig.CertFile is empty: KeyFile needs its certificate"},
		{etcd.ClientConfig{Endpoints: ep, Password: secret}, "etcd: ClientConfig.Username is empty: a Password or PasswordFile needs it"},
		{etcd.ClientConfig{Endpoints: ep, PasswordFile: emptyPW}, "etcd: ClientConfig.Username is empty: a Password or PasswordFile needs it"},
		{etcd.ClientConfig{Endpoints: ep, Username: "u", Password: secret, PasswordFile: emptyPW}, "etcd: ClientConfig.PasswordFile is " + emptyPW + ": set it or Password, not both"},
		{etcd.ClientConfig{Endpoints: ep, DialTimeout: -1}, "etcd: ClientConfig.DialTimeout is -1ns: must not be negative"},
		{etcd.ClientConfig{Endpoints: ep, MaxReconnectDelay: -time.Second}, "etcd: ClientConfig.MaxReconnectDelay is -1s: must not be negative"},
		{etcd.ClientConfig{Endpoints: ep, CAFile: notPEM}, "etcd: ClientConfig.CAFile is " + notPEM + ": holds no PEM certificate"},
		{etcd.ClientConfig{Endpoints: ep, Username: "u", PasswordFile: emptyPW}, "etcd: ClientConfig.PasswordFile is " + emptyPW + ": its first line, the password, is empty"},
	} {
		_, err := tc.c.Config()
		wantInvalid(t, tc.c.String(), err, tc.want)
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("error shows the password: %v", err)
		}
	}
	for _, c := range []etcd.ClientConfig{
		{Endpoints: ep, CAFile: "/does/not/exist"},
		{Endpoints: ep, CertFile: "/no/cert", KeyFile: "/no/key"},
		{Endpoints: ep, Username: "u", PasswordFile: "/no/pw"},
	} {
		if _, err := c.Config(); err == nil || errors.Is(err, controlloop.ErrInvalid) {
			t.Errorf("%v: %v, want the missing file's error", c, err)
		}
	}
}

// TestClientConfigRegisterFlagsNil: RegisterFlags on a nil ClientConfig
// does nothing, and a nil FlagSet stands for flag.CommandLine.
func TestClientConfigRegisterFlagsNil(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	(*etcd.ClientConfig)(nil).RegisterFlags(fs)
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n != 0 {
		t.Errorf("a nil ClientConfig registered %d flags", n)
	}
	saved := flag.CommandLine
	t.Cleanup(func() { flag.CommandLine = saved })
	flag.CommandLine = flag.NewFlagSet("cmd", flag.ContinueOnError)
	var c etcd.ClientConfig
	c.RegisterFlags(nil)
	if err := flag.CommandLine.Parse([]string{"-endpoints", "http://a:1"}); err != nil || len(c.Endpoints) != 1 {
		t.Errorf("flags on flag.CommandLine: %v, endpoints %v", err, c.Endpoints)
	}
}

// TestClientConfigAuth: user and password reach etcd's auth; a wrong
// password is refused, and the error does not show it.
func TestClientConfigAuth(t *testing.T) {
	srv := etcdtest.Start(t, etcdtest.Options{Auth: &etcdtest.Auth{RootPassword: secret}})
	ctx := testContext(t, 30*time.Second)
	connect := func(pw string) *etcd.Source[*Pod] {
		cfg, err := etcd.ClientConfig{Endpoints: srv.Endpoints(), Username: "root", Password: pw}.Config()
		if err != nil {
			t.Fatal(err)
		}
		cfg.Logger = quietZap()
		c, err := clientv3.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		src, err := etcd.New[*Pod](c, etcd.Options{Prefix: "/auth"})
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	if _, err := connect(secret).Create(ctx, pod("", "a", nil)); err != nil {
		t.Errorf("authenticated create: %v", err)
	}
	// A wrong password fails the first request at once, with etcd's error.
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := connect("wrong-"+secret).Create(wctx, pod("", "b", nil))
	if !errors.Is(err, rpctypes.ErrAuthFailed) {
		t.Fatalf("a wrong password: %v, want ErrAuthFailed", err)
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error shows the password: %v", err)
	}
}

// TestClientConfigAuthOff: credentials given for a server that has
// authentication off do no harm: requests go through without a token; once
// authentication is turned on, the client authenticates.
func TestClientConfigAuthOff(t *testing.T) {
	srv := etcdtest.Start(t, etcdtest.Options{})
	cfg, err := etcd.ClientConfig{Endpoints: srv.Endpoints(), Username: "root", Password: secret}.Config()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = quietZap()
	c, err := clientv3.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := testContext(t, 10*time.Second)
	if _, err := c.Put(ctx, "/off", "x"); err != nil {
		t.Errorf("a put: %v", err)
	}
	if wr := <-c.Watch(ctx, "/off", clientv3.WithRev(1)); wr.Err() != nil || len(wr.Events) != 1 {
		t.Errorf("a watch: %v %v", wr.Err(), wr.Events)
	}
	admin := srv.Client(t)
	for _, step := range []func() error{
		func() error { _, err := admin.UserAdd(ctx, "root", secret); return err },
		func() error { _, err := admin.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := admin.AuthEnable(ctx); return err },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Put(ctx, "/on", "x"); err != nil {
		t.Errorf("a put once authentication is on: %v", err)
	}
}

// TestClientConfigTLS: CA and client certificate files reach a TLS
// server that verifies clients.
func TestClientConfigTLS(t *testing.T) {
	files, err := etcdtest.WriteTLSFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv := etcdtest.Start(t, etcdtest.Options{TLS: files})
	if !strings.HasPrefix(srv.Endpoints()[0], "https://") {
		t.Fatalf("endpoints %v, want https", srv.Endpoints())
	}
	ctx := testContext(t, 30*time.Second)
	try := func(c etcd.ClientConfig) error {
		c.Endpoints, c.DialTimeout = srv.Endpoints(), 2*time.Second
		cfg, err := c.Config()
		if err != nil {
			return err
		}
		cfg.Logger = quietZap()
		cl, err := clientv3.New(cfg)
		if err != nil {
			return err
		}
		defer cl.Close()
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		_, err = cl.Put(pctx, "/tls", "x")
		return err
	}
	if err := try(etcd.ClientConfig{CAFile: files.CAFile, CertFile: files.ClientCertFile, KeyFile: files.ClientKeyFile}); err != nil {
		t.Errorf("with CA and client certificate: %v", err)
	}
	if err := try(etcd.ClientConfig{CAFile: files.CAFile}); err == nil {
		t.Error("without a client certificate: accepted")
	}
}

// TestClientConfigReconnectBackoff (issue 13, item 4): a client made from
// a ClientConfig waits at most MaxReconnectDelay (2s by default) between
// two attempts to reach an endpoint that is down, however long it has been
// down: gRPC's own backoff grows to 120s, so that after a long outage the
// client came back many seconds after etcd. Under synctest, with a dialer
// that fails every attempt, over ten minutes of an outage.
func TestClientConfigReconnectBackoff(t *testing.T) {
	for _, tc := range []struct {
		max  time.Duration
		want time.Duration // the longest gap allowed: max and gRPC's 20% jitter
	}{
		{0, 2400 * time.Millisecond},
		{300 * time.Millisecond, 360 * time.Millisecond},
	} {
		t.Run(fmt.Sprint(tc.max), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg, err := etcd.ClientConfig{Endpoints: []string{"http://etcd:2379"}, MaxReconnectDelay: tc.max}.Config()
				if err != nil {
					t.Fatal(err)
				}
				var (
					mu       sync.Mutex // protects attempts
					attempts []time.Time
				)
				cfg.DialOptions = append(cfg.DialOptions, grpc.WithContextDialer(func(context.Context, string) (net.Conn, error) {
					mu.Lock()
					defer mu.Unlock()
					attempts = append(attempts, time.Now())
					return nil, errors.New("etcd is down")
				}))
				cfg.Logger = quietZap()
				c, err := clientv3.New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
				_, err = c.Get(ctx, "k")
				cancel()
				c.Close()
				synctest.Wait()
				if err == nil {
					t.Fatal("a Get with every dial failing succeeded")
				}
				mu.Lock()
				defer mu.Unlock()
				var longest time.Duration
				for i := 1; i < len(attempts); i++ {
					longest = max(longest, attempts[i].Sub(attempts[i-1]))
				}
				if longest > tc.want || len(attempts) < int(10*time.Minute/tc.want) {
					t.Errorf("MaxReconnectDelay %v: %d attempts in 10m, the longest gap %v; want gaps of at most %v", tc.max, len(attempts), longest, tc.want)
				}
			})
		})
	}
}
