package etcdtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
)

// Server is an embedded, single-member etcd server on the loopback
// interface, reached through a proxy whose address stays the same across
// [Server.Stop] and [Server.Start].
//
// A Server must be created with [New] or [Start]. Its methods are safe for
// concurrent use; Start, Stop, Restart and Close are serialized.
type Server struct {
	opts   Options
	dir    string
	ownDir bool // dir was created by New: Close removes it
	proxy  *proxy

	mu     sync.Mutex // protects the fields below; held through Start and Stop
	etcd   *embed.Etcd
	closed bool
	links  []*Link // more ways in, each a proxy of its own
}

// New returns a server that is not running yet: it opens the proxy's
// listener on 127.0.0.1 (a free port) and creates the data directory if
// Options.Dir is empty, but starts no etcd. Call [Server.Start], and
// [Server.Close] when done.
func New(opts Options) (*Server, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	s := &Server{opts: opts, dir: opts.Dir}
	if s.dir == "" {
		dir, err := os.MkdirTemp("", "etcdtest-")
		if err != nil {
			return nil, fmt.Errorf("etcdtest: data directory: %w", err)
		}
		s.dir, s.ownDir = dir, true
	}
	p, err := newProxy()
	if err != nil {
		if s.ownDir {
			os.RemoveAll(s.dir)
		}
		return nil, fmt.Errorf("etcdtest: listen: %w", err)
	}
	s.proxy = p
	return s, nil
}

// Endpoints returns the addresses clients dial: one, the proxy's, which
// does not change when the server restarts.
func (s *Server) Endpoints() []string { return []string{s.scheme() + "://" + s.proxy.addr()} }

func (s *Server) scheme() string {
	if s.opts.TLS != nil {
		return "https"
	}
	return "http"
}

// Dir returns the data directory.
func (s *Server) Dir() string { return s.dir }

// Start starts etcd on the data directory, with whatever it holds, and
// returns once it serves clients. It fails with [ErrRunning] if etcd runs,
// with [ErrClosed] after Close, and with the context's error or
// [ErrStartTimeout] if etcd is not ready in time.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return ErrClosed
	case s.etcd != nil:
		return ErrRunning
	}
	e, err := embed.StartEtcd(s.config())
	if err != nil {
		return fmt.Errorf("etcdtest: start: %w", err)
	}
	timer := time.NewTimer(s.opts.StartTimeout)
	defer timer.Stop()
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return fmt.Errorf("etcdtest: start: %w", err)
	case <-timer.C:
		e.Close()
		return fmt.Errorf("%w (%v)", ErrStartTimeout, s.opts.StartTimeout)
	case <-ctx.Done():
		e.Close()
		return ctx.Err()
	}
	s.etcd = e
	addr := e.Clients[0].Addr().String()
	s.proxy.setBackend(addr)
	for _, l := range s.links {
		l.p.setBackend(addr)
	}
	return nil
}

// config is the embedded server's configuration: ports chosen by the
// kernel, short raft ticks (a single member elects itself at once), and the
// options.
func (s *Server) config() *embed.Config {
	cfg := embed.NewConfig()
	cfg.Name = "etcdtest"
	cfg.Dir = s.dir
	local := url.URL{Scheme: "http", Host: "127.0.0.1:0"}
	cfg.ListenClientUrls = []url.URL{{Scheme: s.scheme(), Host: local.Host}}
	cfg.AdvertiseClientUrls = []url.URL{{Scheme: s.scheme(), Host: s.proxy.addr()}}
	if f := s.opts.TLS; f != nil {
		cfg.ClientTLSInfo = transport.TLSInfo{
			CertFile: f.CertFile, KeyFile: f.KeyFile,
			TrustedCAFile: f.CAFile, ClientCertAuth: f.ClientCertAuth,
		}
	}
	cfg.ListenPeerUrls = []url.URL{local}
	cfg.AdvertisePeerUrls = []url.URL{local}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.TickMs = 10
	cfg.ElectionMs = 100
	cfg.UnsafeNoFsync = !s.opts.Fsync
	cfg.EnableGRPCGateway = false
	cfg.BcryptCost = 4 // bcrypt.MinCost: auth tests need no strong hashing
	cfg.WatchProgressNotifyInterval = s.opts.ProgressNotifyInterval
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(s.opts.Logger)
	return cfg
}

// Stop stops etcd and keeps its data: [Server.Start] resumes from it. Open
// client connections are cut first, as a crash would cut them, so that
// their streams end at once; clients keep retrying until the server is back.
// Stop on a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lockedStop()
}

func (s *Server) lockedStop() {
	if s.etcd == nil {
		return
	}
	s.proxy.setBackend("")
	for _, l := range s.links {
		l.p.setBackend("")
	}
	s.etcd.Close()
	s.etcd = nil
}

// Restart stops etcd and starts it again on the same data directory.
func (s *Server) Restart(ctx context.Context) error {
	s.Stop()
	return s.Start(ctx)
}

// CutConnections closes every open client connection, as a network blip
// would; the server keeps running and clients reconnect.
func (s *Server) CutConnections() { s.proxy.cut() }

// A Link is a way in to the server of its own: a proxy with its own
// address, so that a test can cut or partition one client's connection
// and leave the others alone. It follows the server across restarts and
// closes with it.
type Link struct {
	s *Server
	p *proxy
}

// NewLink opens a new way in to the server, on a free port of 127.0.0.1.
func (s *Server) NewLink() (*Link, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	p, err := newProxy()
	if err != nil {
		return nil, fmt.Errorf("etcdtest: listen: %w", err)
	}
	if s.etcd != nil {
		p.setBackend(s.etcd.Clients[0].Addr().String())
	}
	l := &Link{s: s, p: p}
	s.links = append(s.links, l)
	return l, nil
}

// Endpoints returns the link's address, for a client.
func (l *Link) Endpoints() []string { return []string{l.s.scheme() + "://" + l.p.addr()} }

// Cut closes the link's open connections, as a network blip would.
func (l *Link) Cut() { l.p.cut() }

// Partition holds back every byte through the link, both ways, on open
// connections and new ones, as a network partition would: requests hang,
// nothing is refused. Heal ends it.
func (l *Link) Partition() { l.p.pause(true) }

// Heal ends a Partition: the bytes held back are delivered.
func (l *Link) Heal() { l.p.pause(false) }

// Close stops etcd and the proxy and removes the data directory if New
// created it. Every goroutine of the server has ended when it returns. A
// closed Server cannot be started again; Close is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.lockedStop()
	s.proxy.close()
	for _, l := range s.links {
		l.p.close()
	}
	if s.ownDir {
		if err := os.RemoveAll(s.dir); err != nil {
			return fmt.Errorf("etcdtest: remove data directory: %w", err)
		}
	}
	return nil
}

// NewClient returns a client of the server, configured for tests: a short
// dial timeout, Options.Logger, and with TLS, trust in Options.TLS.CAFile
// and its client certificate. The caller closes it.
func (s *Server) NewClient() (*clientv3.Client, error) {
	cfg := clientv3.Config{
		Endpoints:   s.Endpoints(),
		DialTimeout: 5 * time.Second,
		Logger:      s.opts.Logger,
	}
	if f := s.opts.TLS; f != nil {
		info := transport.TLSInfo{TrustedCAFile: f.CAFile, CertFile: f.ClientCertFile, KeyFile: f.ClientKeyFile}
		t, err := info.ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("etcdtest: client TLS: %w", err)
		}
		cfg.TLS = t
	}
	return clientv3.New(cfg)
}

// Errors returned by [Server] methods. Test for them with [errors.Is].
var (
	// ErrRunning means Start was called on a running server.
	ErrRunning = errors.New("etcdtest: server is running")
	// ErrClosed means the server was closed.
	ErrClosed = errors.New("etcdtest: server is closed")
	// ErrStartTimeout means etcd was not ready within Options.StartTimeout.
	ErrStartTimeout = errors.New("etcdtest: server not ready in time")
)
