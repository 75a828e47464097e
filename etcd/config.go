package etcd

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/controlloop/controlloop"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// ClientConfig is what a program needs to reach an etcd cluster: its
// endpoints, TLS files and credentials. [ClientConfig.Config] turns it into
// a clientv3.Config; [ClientConfig.RegisterFlags] fills it from the command
// line. Its String and LogValue never show the password, so it can be
// printed and logged.
type ClientConfig struct {
	// Endpoints are the cluster's client URLs, such as
	// "https://10.0.0.1:2379". Required.
	Endpoints []string
	// DialTimeout bounds the first connection. Defaults to 5s.
	DialTimeout time.Duration
	// CAFile is a PEM bundle of the certificate authorities to trust for
	// the server's certificate. Setting it, or CertFile, turns TLS on.
	// Defaults to none: plain connections, or the system's roots if
	// CertFile is set.
	CAFile string
	// CertFile and KeyFile are a PEM client certificate and its key, for
	// clusters that authenticate clients by certificate. Defaults to none.
	CertFile, KeyFile string
	// Username and Password authenticate with etcd's own auth. Defaults to
	// none.
	Username string
	Password string
	// PasswordFile, if Password is empty, is a file whose first line is
	// the password: a secret mounted as a file stays out of the process
	// list and the environment. Defaults to none.
	PasswordFile string
}

// RegisterFlags registers flags that set c on fs: -endpoints (comma
// separated), -etcd-cacert, -etcd-cert, -etcd-key, -etcd-user,
// -etcd-password-file and -etcd-dial-timeout. There is no flag for the
// password itself, which a process list would show.
func (c *ClientConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.Func("endpoints", "etcd client URLs, comma separated", func(s string) error {
		c.Endpoints = nil
		for e := range strings.SplitSeq(s, ",") {
			if e = strings.TrimSpace(e); e != "" {
				c.Endpoints = append(c.Endpoints, e)
			}
		}
		return nil
	})
	fs.StringVar(&c.CAFile, "etcd-cacert", c.CAFile, "PEM file of the CAs that sign etcd's server certificate")
	fs.StringVar(&c.CertFile, "etcd-cert", c.CertFile, "PEM client certificate for etcd")
	fs.StringVar(&c.KeyFile, "etcd-key", c.KeyFile, "PEM key of -etcd-cert")
	fs.StringVar(&c.Username, "etcd-user", c.Username, "etcd user name")
	fs.StringVar(&c.PasswordFile, "etcd-password-file", c.PasswordFile, "file holding the etcd user's password")
	fs.DurationVar(&c.DialTimeout, "etcd-dial-timeout", c.DialTimeout, "timeout of the first connection to etcd (0: 5s)")
}

// Config returns the clientv3.Config that c describes, with TLS files
// loaded and the password read. It fails with an error wrapping
// [controlloop.ErrInvalid] if c is incomplete or inconsistent, and with the
// file's error if a file cannot be read. Errors never include the password.
func (c ClientConfig) Config() (clientv3.Config, error) {
	var cfg clientv3.Config
	switch {
	case len(c.Endpoints) == 0:
		return cfg, fmt.Errorf("etcd: %w: %T.Endpoints is required", controlloop.ErrInvalid, c)
	case (c.CertFile == "") != (c.KeyFile == ""):
		return cfg, fmt.Errorf("etcd: %w: %T.CertFile and KeyFile go together", controlloop.ErrInvalid, c)
	case c.DialTimeout < 0:
		return cfg, fmt.Errorf("etcd: %w: %T.DialTimeout must not be negative", controlloop.ErrInvalid, c)
	case c.Username == "" && (c.Password != "" || c.PasswordFile != ""):
		return cfg, fmt.Errorf("etcd: %w: a password without %T.Username", controlloop.ErrInvalid, c)
	}
	cfg.Endpoints = c.Endpoints
	cfg.DialTimeout = c.DialTimeout
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	if c.CAFile != "" || c.CertFile != "" {
		t := &tls.Config{MinVersion: tls.VersionTLS12}
		if c.CAFile != "" {
			pem, err := os.ReadFile(c.CAFile)
			if err != nil {
				return cfg, fmt.Errorf("etcd: CA file: %w", err)
			}
			t.RootCAs = x509.NewCertPool()
			if !t.RootCAs.AppendCertsFromPEM(pem) {
				return cfg, fmt.Errorf("etcd: %w: CA file %s holds no PEM certificate", controlloop.ErrInvalid, c.CAFile)
			}
		}
		if c.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
			if err != nil {
				return cfg, fmt.Errorf("etcd: client certificate: %w", err)
			}
			t.Certificates = []tls.Certificate{cert}
		}
		cfg.TLS = t
	}
	cfg.Username, cfg.Password = c.Username, c.Password
	if c.Username != "" && c.Password == "" && c.PasswordFile != "" {
		b, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return cfg, fmt.Errorf("etcd: password file: %w", err)
		}
		pw, _, _ := strings.Cut(string(b), "\n")
		cfg.Password = strings.TrimRight(pw, "\r")
	}
	return cfg, nil
}

// String describes c without its password.
func (c ClientConfig) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "endpoints=%s", strings.Join(c.Endpoints, ","))
	if c.CAFile != "" {
		fmt.Fprintf(&b, " cacert=%s", c.CAFile)
	}
	if c.CertFile != "" {
		fmt.Fprintf(&b, " cert=%s key=%s", c.CertFile, c.KeyFile)
	}
	if c.Username != "" {
		fmt.Fprintf(&b, " user=%s", c.Username)
		if c.Password != "" || c.PasswordFile != "" {
			b.WriteString(" password=<redacted>")
		}
	}
	return b.String()
}

// LogValue logs c without its password.
func (c ClientConfig) LogValue() slog.Value {
	attrs := []slog.Attr{slog.Any("endpoints", c.Endpoints)}
	if c.CAFile != "" {
		attrs = append(attrs, slog.String("cacert", c.CAFile))
	}
	if c.CertFile != "" {
		attrs = append(attrs, slog.String("cert", c.CertFile), slog.String("key", c.KeyFile))
	}
	if c.Username != "" {
		attrs = append(attrs, slog.String("user", c.Username), slog.Bool("password", c.Password != "" || c.PasswordFile != ""))
	}
	return slog.GroupValue(attrs...)
}

// GoString describes c without its password, for %#v.
func (c ClientConfig) GoString() string { return "etcd.ClientConfig{" + c.String() + "}" }

var (
	_ slog.LogValuer = ClientConfig{}
	_ fmt.Stringer   = ClientConfig{}
)
