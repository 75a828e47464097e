package etcdtest

import (
	"fmt"
	"time"

	"go.uber.org/zap"
)

// Options configure a [Server]. The zero Options is valid: every field has a
// default.
type Options struct {
	// Dir is the data directory; it is created if missing and kept by Close.
	// Defaults to a new temporary directory that Close removes.
	Dir string
	// ProgressNotifyInterval is how often etcd sends a progress
	// notification to each watch that asked for them. Defaults to etcd's
	// own default, 10 minutes.
	ProgressNotifyInterval time.Duration
	// StartTimeout bounds how long Start waits for etcd to serve. Defaults
	// to 30s.
	StartTimeout time.Duration
	// Fsync makes etcd sync its log to disk on every commit. Defaults to
	// false: data survives Stop and Start, and a crash of this process, but
	// not one of the machine; writes are several times faster.
	Fsync bool
	// TLS, if not nil, makes etcd serve clients over TLS with these files:
	// [Server.Endpoints] then start with "https://". Defaults to nil: plain
	// HTTP.
	TLS *TLSFiles
	// Logger receives the server's logs and those of clients made by
	// [Server.NewClient]. Defaults to none: etcd logs errors that are
	// routine in tests (listeners closed by Stop); failures to start are
	// returned by Start.
	Logger *zap.Logger
}

// TLSFiles are the PEM files of a server that serves clients over TLS.
type TLSFiles struct {
	// CertFile and KeyFile are the server's certificate, valid for
	// 127.0.0.1, and its key.
	CertFile, KeyFile string
	// CAFile holds the certificate authorities that sign client
	// certificates, and that [Server.NewClient] trusts for the server's.
	CAFile string
	// ClientCertAuth makes the server require a client certificate signed
	// by CAFile.
	ClientCertAuth bool
	// ClientCertFile and ClientKeyFile are the certificate that
	// [Server.NewClient] presents, if any.
	ClientCertFile, ClientKeyFile string
}

const defaultStartTimeout = 30 * time.Second

func (o Options) validate() error {
	switch {
	case o.ProgressNotifyInterval < 0:
		return fmt.Errorf("etcdtest: %T.ProgressNotifyInterval must not be negative, got %v", o, o.ProgressNotifyInterval)
	case o.TLS != nil && (o.TLS.CertFile == "" || o.TLS.KeyFile == ""):
		return fmt.Errorf("etcdtest: %T.TLS needs CertFile and KeyFile", o)
	case o.TLS != nil && o.TLS.ClientCertAuth && o.TLS.CAFile == "":
		return fmt.Errorf("etcdtest: %T.TLS.ClientCertAuth needs CAFile", o)
	case o.StartTimeout < 0:
		return fmt.Errorf("etcdtest: %T.StartTimeout must not be negative, got %v", o, o.StartTimeout)
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.StartTimeout == 0 {
		o.StartTimeout = defaultStartTimeout
	}
	if o.ProgressNotifyInterval == 0 {
		o.ProgressNotifyInterval = 10 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	return o
}
