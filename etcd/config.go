package etcd

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
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
	// none. The client authenticates on its first request, when it opens a
	// stream (a watch, a lease's keep-alive), and again whenever etcd
	// refuses its token (expired after --auth-token-ttl of disuse, or lost
	// by a restarted member), on every server version: see Config.
	Username string
	Password string
	// PasswordFile is a file whose first line is the password, instead of
	// Password (set one or the other): a secret mounted as a file stays out
	// of the process list and the environment. Defaults to none.
	PasswordFile string
	// MaxReconnectDelay is the longest wait between two attempts to
	// reconnect to an endpoint that is down: after an outage, the client
	// is back within about this long of the endpoint's return. Defaults to
	// 2s; gRPC's own default, 120s, would leave a client deaf for up to two
	// minutes after a long outage.
	MaxReconnectDelay time.Duration
}

// defaultMaxReconnectDelay is ClientConfig.MaxReconnectDelay's default.
const defaultMaxReconnectDelay = 2 * time.Second

// RegisterFlags registers flags that set c on fs: -endpoints (comma
// separated), -etcd-cacert, -etcd-cert, -etcd-key, -etcd-user,
// -etcd-password-file, -etcd-dial-timeout and -etcd-max-reconnect-delay. There is no flag for the
// password itself, which a process list would show. A nil fs stands for
// [flag.CommandLine]; on a nil c, RegisterFlags does nothing.
func (c *ClientConfig) RegisterFlags(fs *flag.FlagSet) {
	if c == nil {
		return
	}
	if fs == nil {
		fs = flag.CommandLine
	}
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
	fs.DurationVar(&c.MaxReconnectDelay, "etcd-max-reconnect-delay", c.MaxReconnectDelay, "longest wait between attempts to reconnect to etcd (0: 2s)")
}

// Config returns the clientv3.Config that c describes, with TLS files
// loaded and the password read. It fails with an error wrapping
// [controlloop.ErrInvalid] if c is incomplete or inconsistent (the error
// names the field and the rule), or if a file holds no certificate or no
// password, and with the file's error if a file cannot be read. Errors
// never include the password.
//
// With a Username, the config does not hand the credentials to the
// clientv3 client, whose own token refresh cannot recover on etcd 3.4
// (it sends the expired token with its Authenticate request, which 3.4
// refuses as an invalid token, so every request then fails or hangs until
// its context ends); instead it carries gRPC interceptors (DialOptions)
// that send the token, authenticate with no token attached, and
// authenticate again and retry once when etcd refuses the token. A wrong
// password fails the first request with etcd's authentication error
// (rpctypes.ErrAuthFailed), not clientv3.New.
func (c ClientConfig) Config() (clientv3.Config, error) {
	var cfg clientv3.Config
	if err := c.validate(); err != nil {
		return cfg, err
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
				return cfg, invalid("ClientConfig.CAFile", c.CAFile, "holds no PEM certificate")
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
	delay := cmp.Or(c.MaxReconnectDelay, defaultMaxReconnectDelay)
	bc := backoff.DefaultConfig
	bc.BaseDelay, bc.MaxDelay = min(bc.BaseDelay, delay), delay
	cfg.DialOptions = append(cfg.DialOptions, grpc.WithConnectParams(grpc.ConnectParams{
		Backoff: bc, MinConnectTimeout: minConnectTimeout,
	}))
	if c.Username == "" {
		return cfg, nil
	}
	password := c.Password
	if c.PasswordFile != "" {
		b, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return cfg, fmt.Errorf("etcd: password file: %w", err)
		}
		pw, _, _ := strings.Cut(string(b), "\n")
		if password = strings.TrimRight(pw, "\r"); password == "" {
			return cfg, invalid("ClientConfig.PasswordFile", c.PasswordFile, "its first line, the password, is empty")
		}
	}
	a := &tokenAuth{user: c.Username, password: password}
	cfg.DialOptions = append(cfg.DialOptions,
		grpc.WithPerRPCCredentials(a),
		grpc.WithChainUnaryInterceptor(a.unary),
		grpc.WithChainStreamInterceptor(a.stream),
	)
	return cfg, nil
}

// validate checks c's fields without reading its files.
func (c ClientConfig) validate() error {
	if len(c.Endpoints) == 0 {
		return invalid("ClientConfig.Endpoints", "empty", "at least one endpoint is required")
	}
	for i, e := range c.Endpoints {
		if strings.TrimSpace(e) == "" {
			return invalid(fmt.Sprintf("ClientConfig.Endpoints[%d]", i), strconv.Quote(e), "must not be blank")
		}
	}
	switch {
	case c.CertFile != "" && c.KeyFile == "":
		return invalid("ClientConfig.KeyFile", "empty", "CertFile needs its key")
	case c.CertFile == "" && c.KeyFile != "":
		return invalid("ClientConfig.CertFile", "empty", "KeyFile needs its certificate")
	case c.DialTimeout < 0:
		return invalid("ClientConfig.DialTimeout", c.DialTimeout, "must not be negative")
	case c.MaxReconnectDelay < 0:
		return invalid("ClientConfig.MaxReconnectDelay", c.MaxReconnectDelay, "must not be negative")
	case c.Username == "" && (c.Password != "" || c.PasswordFile != ""):
		return invalid("ClientConfig.Username", "empty", "a Password or PasswordFile needs it")
	case c.Password != "" && c.PasswordFile != "":
		return invalid("ClientConfig.PasswordFile", c.PasswordFile, "set it or Password, not both")
	}
	return nil
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

// minConnectTimeout is gRPC's default: how long one attempt to connect may
// take.
const minConnectTimeout = 20 * time.Second

// authenticateMethod is the gRPC method that trades a user and password
// for a token.
const authenticateMethod = "/etcdserverpb.Auth/Authenticate"

// tokenAuth keeps a client's etcd auth token: gRPC per-RPC credentials
// that attach it to every request but Authenticate, and interceptors that
// get a new one when there is none or etcd refuses it. Safe for
// concurrent use.
type tokenAuth struct {
	user, password string

	mu    sync.Mutex // protects token; held through an Authenticate call
	token string     // "" until authenticated, or when auth is off
	ok    bool       // a token was asked for once, whatever etcd answered
}

// GetRequestMetadata attaches the token, except to Authenticate: etcd 3.4
// refuses an Authenticate request that carries an expired token.
func (a *tokenAuth) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	if ri, ok := credentials.RequestInfoFromContext(ctx); ok && ri.Method == authenticateMethod {
		return nil, nil
	}
	a.mu.Lock()
	token := a.token
	a.mu.Unlock()
	if token == "" {
		return nil, nil
	}
	return map[string]string{rpctypes.TokenFieldNameGRPC: token}, nil
}

// RequireTransportSecurity is false: etcd's auth works on plain
// connections too.
func (a *tokenAuth) RequireTransportSecurity() bool { return false }

// current returns the token in use, authenticating first if the client
// never has.
func (a *tokenAuth) current(ctx context.Context, cc *grpc.ClientConn) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.ok {
		if err := a.lockedAuthenticate(ctx, cc); err != nil {
			return "", err
		}
	}
	return a.token, nil
}

// renew gets a new token in place of stale, unless another call has done
// so meanwhile.
func (a *tokenAuth) renew(ctx context.Context, cc *grpc.ClientConn, stale string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ok && a.token != stale {
		return nil
	}
	return a.lockedAuthenticate(ctx, cc)
}

func (a *tokenAuth) lockedAuthenticate(ctx context.Context, cc *grpc.ClientConn) error {
	resp, err := pb.NewAuthClient(cc).Authenticate(ctx, &pb.AuthenticateRequest{Name: a.user, Password: a.password})
	switch {
	case errors.Is(rpctypes.Error(err), rpctypes.ErrAuthNotEnabled):
		a.token, a.ok = "", true
		return nil
	case err != nil:
		return err
	}
	a.token, a.ok = resp.Token, true
	return nil
}

// refused reports whether etcd refused a request for its token: expired,
// unknown to the member, from an older auth revision, or missing.
func refused(err error) bool {
	err = rpctypes.Error(err)
	return errors.Is(err, rpctypes.ErrInvalidAuthToken) || errors.Is(err, rpctypes.ErrAuthOldRevision) ||
		errors.Is(err, rpctypes.ErrUserEmpty)
}

// unary sends a request with the token and, if etcd refuses the token,
// authenticates again and sends it once more.
func (a *tokenAuth) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if method == authenticateMethod {
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	token, err := a.current(ctx, cc)
	if err != nil {
		return err
	}
	err = invoker(ctx, method, req, reply, cc, opts...)
	if !refused(err) {
		return err
	}
	if err := a.renew(ctx, cc, token); err != nil {
		return err
	}
	// Sent again here: clientv3's retry interceptor, around this one,
	// sends a request again for an invalid token but not for a missing
	// one (ErrUserEmpty).
	return invoker(ctx, method, req, reply, cc, opts...)
}

// stream authenticates before it opens a stream, as clientv3 does: etcd
// checks the token of a stream's requests (each watch it creates) against
// the token it was opened with, which may have expired while the client
// was idle or cut off.
func (a *tokenAuth) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	a.mu.Lock()
	err := a.lockedAuthenticate(ctx, cc)
	a.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return streamer(ctx, desc, cc, method, opts...)
}

var (
	_ credentials.PerRPCCredentials = (*tokenAuth)(nil)
	_ slog.LogValuer                = ClientConfig{}
	_ fmt.Stringer                  = ClientConfig{}
)
