package etcdtest

import (
	"cmp"
	"strconv"
	"time"

	"go.uber.org/zap"
)

// Options configure a [Server]. The zero Options is valid: every field has a
// default. [New] and [Start] refuse invalid options with an error wrapping
// [controlloop.ErrInvalid] that names the field and the rule.
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
	// not one of the machine; writes do not wait for the disk.
	Fsync bool
	// TLS, if not nil, makes etcd serve clients over TLS with these files:
	// [Server.Endpoints] then start with "https://". Defaults to nil: plain
	// HTTP.
	TLS *TLSFiles
	// Logger receives the embedded server's logs and those of clients made
	// by [Server.NewClient]. Defaults to none: etcd logs errors that are
	// routine in tests (listeners closed by Stop); failures to start are
	// returned by Start. An external server logs to a file in its member's
	// data directory instead, whose end Start quotes when etcd fails.
	Logger *zap.Logger
	// Binary is the path of an etcd executable: each member then runs as
	// a process of its own, which [Server.Kill] can kill with SIGKILL and
	// [Server.Pause] stop with SIGSTOP. [Binary] finds one for a test.
	// Defaults to "": the embedded server, in this process.
	Binary string
	// Members is the number of members of the cluster, each with its own
	// data directory and its own proxy. Defaults to 1.
	Members int
	// Auth, if not nil, turns on etcd's password authentication once the
	// server first starts, with a root user and a user limited to a
	// prefix. Defaults to nil: no authentication.
	Auth *Auth
}

// Auth configures etcd's password authentication. [Server.NewClient]
// authenticates as root; a client of the limited user is made from
// User and Password (see [Server.Options]).
type Auth struct {
	// RootPassword is the password of the user "root", who may do
	// anything. Defaults to "root".
	RootPassword string
	// User is a user whose role may read and write only the keys under
	// Prefix. Defaults to "test".
	User string
	// Password is User's password. Defaults to "test".
	Password string
	// Prefix is the range of keys that User may read and write: every key
	// that starts with it. Defaults to "/".
	Prefix string
	// TokenTTL is how long an authentication token stays valid after its
	// last use (etcd's --auth-token-ttl, simple tokens), in whole seconds.
	// Defaults to etcd's default, 300s.
	TokenTTL time.Duration
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

const (
	defaultStartTimeout = 30 * time.Second
	maxMembers          = 7
)

func (o Options) validate() error {
	switch {
	case o.Members < 0 || o.Members > maxMembers:
		return invalid("Options.Members", o.Members, "must be between 0 (one member) and 7")
	case o.Auth != nil && o.Auth.TokenTTL < 0:
		return invalid("Options.Auth.TokenTTL", o.Auth.TokenTTL, "must not be negative")
	case o.Auth != nil && o.Auth.TokenTTL%time.Second != 0:
		return invalid("Options.Auth.TokenTTL", o.Auth.TokenTTL, "must be whole seconds")
	case o.Auth != nil && o.Auth.User == "root":
		return invalid("Options.Auth.User", strconv.Quote(o.Auth.User), "must not be root")
	case o.ProgressNotifyInterval < 0:
		return invalid("Options.ProgressNotifyInterval", o.ProgressNotifyInterval, "must not be negative")
	case o.StartTimeout < 0:
		return invalid("Options.StartTimeout", o.StartTimeout, "must not be negative")
	case o.TLS == nil:
		return nil
	case o.TLS.CertFile == "":
		return invalid("Options.TLS.CertFile", "empty", "a TLS server needs a certificate")
	case o.TLS.KeyFile == "":
		return invalid("Options.TLS.KeyFile", "empty", "a TLS server needs the key of its certificate")
	case o.TLS.ClientCertAuth && o.TLS.CAFile == "":
		return invalid("Options.TLS.CAFile", "empty", "ClientCertAuth needs the CAs that sign client certificates")
	case o.TLS.ClientCertAuth && o.TLS.ClientCertFile == "" && o.Binary != "":
		return invalid("Options.TLS.ClientCertFile", "empty", "an external server with ClientCertAuth needs a client certificate to see it start")
	case (o.TLS.ClientCertFile == "") != (o.TLS.ClientKeyFile == ""):
		return invalid("Options.TLS.ClientKeyFile", strconv.Quote(o.TLS.ClientKeyFile), "ClientCertFile and ClientKeyFile go together")
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
	if o.Members == 0 {
		o.Members = 1
	}
	if o.Auth != nil {
		a := *o.Auth
		a.RootPassword = cmp.Or(a.RootPassword, "root")
		a.User = cmp.Or(a.User, "test")
		a.Password = cmp.Or(a.Password, "test")
		a.Prefix = cmp.Or(a.Prefix, "/")
		a.TokenTTL = cmp.Or(a.TokenTTL, 300*time.Second)
		o.Auth = &a
	}
	return o
}
