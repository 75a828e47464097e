package etcd_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/etcd"
	"github.com/controlloop/controlloop/etcd/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
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
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var c etcd.ClientConfig
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	c.RegisterFlags(fs)
	if err := fs.Parse([]string{"-endpoints", "http://a:1, http://b:2", "-etcd-user", "root", "-etcd-password-file", pw, "-etcd-dial-timeout", "2s"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := c.Config()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfg.Endpoints, " ") != "http://a:1 http://b:2" || cfg.Username != "root" || cfg.Password != secret || cfg.DialTimeout != 2*time.Second || cfg.TLS != nil {
		t.Errorf("config from flags: %v %v %v %v", cfg.Endpoints, cfg.Username, cfg.DialTimeout, cfg.TLS)
	}
}

func TestClientConfigErrors(t *testing.T) {
	ep := []string{"http://a:1"}
	for _, c := range []etcd.ClientConfig{
		{},
		{Endpoints: ep, CertFile: "c.pem"},
		{Endpoints: ep, Password: secret},
		{Endpoints: ep, DialTimeout: -1},
	} {
		_, err := c.Config()
		if !errors.Is(err, controlloop.ErrInvalid) {
			t.Errorf("%v: %v, want ErrInvalid", c, err)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("error shows the password: %v", err)
		}
	}
	for _, c := range []etcd.ClientConfig{
		{Endpoints: ep, CAFile: "/does/not/exist"},
		{Endpoints: ep, CertFile: "/no/cert", KeyFile: "/no/key"},
		{Endpoints: ep, Username: "u", PasswordFile: "/no/pw"},
	} {
		if _, err := c.Config(); err == nil {
			t.Errorf("%v: no error for a missing file", c)
		}
	}
	empty := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(empty, []byte("not pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := (etcd.ClientConfig{Endpoints: ep, CAFile: empty}).Config(); !errors.Is(err, controlloop.ErrInvalid) {
		t.Errorf("CA file without certificates: %v, want ErrInvalid", err)
	}
}

// TestClientConfigAuth: user and password reach etcd's auth; a wrong
// password is refused, and the error does not show it.
func TestClientConfigAuth(t *testing.T) {
	srv := etcdtest.Start(t, etcdtest.Options{})
	admin := srv.Client(t)
	ctx := testContext(t, 30*time.Second)
	for _, step := range []func() error{
		func() error { _, err := admin.UserAdd(ctx, "root", secret); return err },
		func() error { _, err := admin.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := admin.AuthEnable(ctx); return err },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	connect := func(pw string) (*etcd.Source[*Pod], func(), error) {
		cfg, err := etcd.ClientConfig{Endpoints: srv.Endpoints(), Username: "root", Password: pw}.Config()
		if err != nil {
			return nil, nil, err
		}
		cfg.Logger = quietZap()
		c, err := clientv3.New(cfg)
		if err != nil {
			return nil, nil, err
		}
		src, err := etcd.New[*Pod](c, etcd.Options{Prefix: "/auth"})
		return src, func() { c.Close() }, err
	}
	src, closeFn, err := connect(secret)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	if _, err := src.Create(ctx, pod("", "a", nil)); err != nil {
		t.Errorf("authenticated create: %v", err)
	}
	_, closeBad, err := connect("wrong-" + secret)
	if err == nil {
		closeBad()
		t.Fatal("a wrong password was accepted")
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error shows the password: %v", err)
	}
}

// TestClientConfigTLS: CA and client certificate files reach a TLS
// server that verifies clients.
func TestClientConfigTLS(t *testing.T) {
	dir := t.TempDir()
	files := writeCerts(t, dir)
	srv := etcdtest.Start(t, etcdtest.Options{TLS: &etcdtest.TLSFiles{
		CertFile: files.serverCert, KeyFile: files.serverKey, CAFile: files.ca, ClientCertAuth: true,
	}})
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
	if err := try(etcd.ClientConfig{CAFile: files.ca, CertFile: files.clientCert, KeyFile: files.clientKey}); err != nil {
		t.Errorf("with CA and client certificate: %v", err)
	}
	if err := try(etcd.ClientConfig{CAFile: files.ca}); err == nil {
		t.Error("without a client certificate: accepted")
	}
}

type certFiles struct{ ca, serverCert, serverKey, clientCert, clientKey string }

// writeCerts writes a CA, a server certificate for 127.0.0.1 and a client
// certificate, all signed by the CA, as PEM files in dir.
func writeCerts(t *testing.T, dir string) certFiles {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	leaf := func(name string, serial int64, usage x509.ExtKeyUsage) (string, string) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return write(name+".pem", "CERTIFICATE", der), write(name+"-key.pem", "EC PRIVATE KEY", kder)
	}
	f := certFiles{ca: write("ca.pem", "CERTIFICATE", caDER)}
	f.serverCert, f.serverKey = leaf("server", 2, x509.ExtKeyUsageServerAuth)
	f.clientCert, f.clientKey = leaf("client", 3, x509.ExtKeyUsageClientAuth)
	return f
}
