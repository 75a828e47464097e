package etcdtest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/controlloop/controlloop/etcd"
	"go.etcd.io/etcd/api/v3/version"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Server is an etcd cluster on the loopback interface, embedded or run as
// processes of its own (Options.Binary), each member reached through a
// proxy whose address stays the same across [Server.Stop] and
// [Server.Start].
//
// A Server must be created with [New] or [Start]. Its methods are safe for
// concurrent use; the methods that start and stop members are serialized.
type Server struct {
	opts    Options
	dir     string
	ownDir  bool // dir was created by New: Close removes it
	version string
	members []*Member

	mu      sync.Mutex // protects the fields below; held while members start and stop
	started bool       // the cluster has run once: its peer addresses are fixed
	closed  bool
	links   []*Link // more ways in, each with a proxy per member
}

// New returns a server that is not running yet: it opens the proxies'
// listeners on 127.0.0.1 (free ports) and creates the data directory if
// Options.Dir is empty, but starts no etcd. With Options.Binary, it runs
// the binary once to learn its version. Call [Server.Start], and
// [Server.Close] when done. It refuses invalid options with an error
// wrapping [controlloop.ErrInvalid].
func New(opts Options) (*Server, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	s := &Server{opts: opts, dir: opts.Dir, version: version.Version}
	if opts.Binary != "" {
		v, err := binaryVersion(opts.Binary)
		if err != nil {
			return nil, err
		}
		s.version = v
	}
	if s.dir == "" {
		dir, err := os.MkdirTemp("", "etcdtest-")
		if err != nil {
			return nil, fmt.Errorf("etcdtest: data directory: %w", err)
		}
		s.dir, s.ownDir = dir, true
	}
	for i := range opts.Members {
		m := &Member{s: s, index: i, name: "m" + strconv.Itoa(i), dir: s.dir}
		if opts.Members > 1 {
			m.dir = filepath.Join(s.dir, m.name)
		}
		p, err := newProxy()
		if err != nil {
			s.closeProxies()
			if s.ownDir {
				os.RemoveAll(s.dir)
			}
			return nil, fmt.Errorf("etcdtest: listen: %w", err)
		}
		m.proxy = p
		s.members = append(s.members, m)
	}
	return s, nil
}

var versionLine = regexp.MustCompile(`etcd Version: (\S+)`)

// binaryVersion runs "etcd --version" and returns the version it prints.
func binaryVersion(binary string) (string, error) {
	out, err := exec.Command(binary, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("etcdtest: %s --version: %w", binary, err)
	}
	m := versionLine.FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("etcdtest: %s --version printed no version: %q", binary, out)
	}
	return string(m[1]), nil
}

// Version returns the version of etcd that the server runs, such as
// "3.4.23": the binary's (Options.Binary), or the embedded server's.
func (s *Server) Version() string { return s.version }

// External reports whether the members run as processes of their own
// (Options.Binary), which [Server.Kill] and [Server.Pause] need.
func (s *Server) External() bool { return s.opts.Binary != "" }

// Options returns the server's options with their defaults filled in,
// such as the credentials of Options.Auth.
func (s *Server) Options() Options { return s.opts }

// Endpoints returns the addresses clients dial: one per member, its
// proxy's, which does not change when the member restarts.
func (s *Server) Endpoints() []string {
	eps := make([]string, len(s.members))
	for i, m := range s.members {
		eps[i] = m.Endpoint()
	}
	return eps
}

func (s *Server) scheme() string {
	if s.opts.TLS != nil {
		return "https"
	}
	return "http"
}

// Dir returns the data directory. With more than one member, each member
// has a directory of its own in it ([Member.Dir]).
func (s *Server) Dir() string { return s.dir }

// Members returns the cluster's members, in a fixed order.
func (s *Server) Members() []*Member { return s.members }

// Start starts every member that does not run, on its data directory with
// whatever it holds, and returns once each serves clients and the cluster
// has a leader. When the server first starts with Options.Auth, Start then
// turns authentication on. It fails with [ErrClosed] after Close, with
// [ErrRunning] if every member runs, and with the context's error or
// [ErrStartTimeout] if etcd is not ready in time.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	var stopped []*Member
	for _, m := range s.members {
		if !m.lockedRunning() {
			stopped = append(stopped, m)
		}
	}
	if len(stopped) == 0 {
		return ErrRunning
	}
	ctx, cancel := context.WithTimeoutCause(ctx, s.opts.StartTimeout,
		fmt.Errorf("%w (%v)", ErrStartTimeout, s.opts.StartTimeout))
	defer cancel()
	fresh := s.freshMembers()
	for attempt := 1; ; attempt++ {
		err := s.lockedStart(ctx, stopped)
		if err == nil {
			break
		}
		// A port picked free was taken before etcd bound it: pick again.
		// Peer ports are part of the cluster's membership once it ran.
		if !errors.Is(err, errAddrInUse) || attempt == 5 || ctx.Err() != nil {
			return err
		}
		if !s.started {
			if err := s.resetFresh(fresh); err != nil {
				return err
			}
		}
	}
	if !s.started && s.opts.Auth != nil {
		if err := s.enableAuth(ctx); err != nil {
			return err
		}
	}
	s.started = true
	return nil
}

// freshMembers returns the members whose data directory holds no etcd
// data yet.
func (s *Server) freshMembers() []*Member {
	var fresh []*Member
	for _, m := range s.members {
		if _, err := os.Stat(m.dataPath()); errors.Is(err, os.ErrNotExist) {
			fresh = append(fresh, m)
		}
	}
	return fresh
}

// resetFresh prepares a new cluster's next attempt to start: new peer
// ports, and no data in the fresh members' directories, since members that
// formed a quorum in the failed attempt stored a membership that names the
// old ports, and would wait for peers there.
func (s *Server) resetFresh(fresh []*Member) error {
	for _, m := range s.members {
		m.peerPort = 0
	}
	for _, m := range fresh {
		if err := os.RemoveAll(m.dataPath()); err != nil {
			return fmt.Errorf("etcdtest: start %s again: %w", m.name, err)
		}
	}
	return nil
}

// lockedStart starts the members ms at once (a new cluster's members wait
// for each other) and waits for each to serve. If one fails, the ones
// started are stopped again (killed, in a new cluster).
func (s *Server) lockedStart(ctx context.Context, ms []*Member) error {
	for _, m := range s.members {
		if m.peerPort == 0 {
			port, err := freePort()
			if err != nil {
				return err
			}
			m.peerPort = port
		}
	}
	errs := make([]error, len(ms))
	var wg sync.WaitGroup
	for i, m := range ms {
		wg.Go(func() { errs[i] = m.lockedStart(ctx) })
	}
	wg.Wait()
	err := errors.Join(errs...)
	if err != nil {
		for _, m := range ms {
			if s.started {
				m.lockedStop()
			} else {
				m.lockedKill() // its data is thrown away: do not wait for a graceful end
			}
		}
		if cause := context.Cause(ctx); ctx.Err() != nil && !errors.Is(err, errAddrInUse) {
			// Keep what each member saw (its last error, its log's end):
			// a timeout alone does not say why.
			return fmt.Errorf("%w: %w", cause, err)
		}
	}
	return err
}

// ticks returns the raft heartbeat interval and election timeout: short,
// so that a member elects itself at once and a cluster replaces a lost
// leader within a second, but long enough, with more than one member, to
// keep a loaded machine from electing a new leader all the time.
func (s *Server) ticks() (heartbeat, election time.Duration) {
	if len(s.members) == 1 {
		return 10 * time.Millisecond, 100 * time.Millisecond
	}
	return 50 * time.Millisecond, 500 * time.Millisecond
}

// initialCluster is the --initial-cluster value of a new cluster.
func (s *Server) initialCluster() string {
	parts := make([]string, len(s.members))
	for i, m := range s.members {
		parts[i] = m.name + "=" + m.peerURL()
	}
	return strings.Join(parts, ",")
}

// Stop stops every member and keeps its data: [Server.Start] resumes from
// it. Open client connections are cut first, as a crash would cut them, so
// that their streams end at once; clients keep retrying until the server
// is back. An external member gets SIGTERM, and SIGKILL if it has not
// exited 10s later. Stop on a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lockedEach(func(m *Member) error { m.lockedStop(); return nil })
}

// Kill kills every member at once, as a crash of its machine would (SIGKILL
// for an external server: whatever etcd had not written to its data
// directory is lost), and cuts the client connections. [Server.Start]
// resumes from the data directories. An embedded server cannot be killed:
// there Kill is [Server.Stop].
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lockedEach(func(m *Member) error { m.lockedKill(); return nil })
}

// Pause stops every member's process with SIGSTOP, as a machine that hangs
// would stop: connections stay open, requests hang. [Server.Resume] lets
// them go on. It fails with an error wrapping [errors.ErrUnsupported] on
// an embedded server, and with [ErrNotRunning] if a member does not run.
func (s *Server) Pause() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lockedEach((*Member).lockedPause)
}

// Resume sends SIGCONT to every member's process, ending a Pause. It
// fails as [Server.Pause] does.
func (s *Server) Resume() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lockedEach((*Member).lockedResume)
}

// lockedEach calls f for every member at once and joins their errors.
func (s *Server) lockedEach(f func(*Member) error) error {
	errs := make([]error, len(s.members))
	var wg sync.WaitGroup
	for i, m := range s.members {
		wg.Go(func() { errs[i] = f(m) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Restart stops etcd and starts it again on the same data directories.
func (s *Server) Restart(ctx context.Context) error {
	s.Stop()
	return s.Start(ctx)
}

// CutConnections closes every open client connection, as a network blip
// would; the server keeps running and clients reconnect.
func (s *Server) CutConnections() {
	for _, m := range s.members {
		m.proxy.cut()
	}
}

// Leader returns the member that leads the cluster's raft group, as the
// running members report it. It fails if no running member answers (each
// has a second, so that a paused one does not hold up the others) or none
// knows a running leader: after a leader's loss, call it again until the
// cluster has elected another.
func (s *Server) Leader(ctx context.Context) (*Member, error) {
	s.mu.Lock()
	addrs := make([]string, len(s.members))
	for i, m := range s.members {
		if m.lockedRunning() {
			addrs[i] = m.proc.clientAddr()
		}
	}
	s.mu.Unlock()
	c, err := s.newClient(s.Endpoints(), false)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var errs []error
	var leader uint64
	ids := make(map[uint64]*Member)
	for i, addr := range addrs {
		if addr == "" {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, statusTimeout) // a paused member never answers
		st, err := c.Status(sctx, s.scheme()+"://"+addr)
		cancel()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ids[st.Header.MemberId] = s.members[i]
		leader = cmp.Or(leader, st.Leader)
	}
	if m := ids[leader]; leader != 0 && m != nil {
		return m, nil
	}
	return nil, fmt.Errorf("etcdtest: no running member knows a running leader: %w", errors.Join(errs...))
}

// A Link is a way in to the server of its own: a proxy per member with
// its own address, so that a test can cut or partition one client's
// connection and leave the others alone. It follows the server across
// restarts and closes with it.
type Link struct {
	s       *Server
	proxies []*proxy // one per member, in the order of Server.members
}

// NewLink opens a new way in to the server, on free ports of 127.0.0.1.
func (s *Server) NewLink() (*Link, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	l := &Link{s: s}
	for _, m := range s.members {
		p, err := newProxy()
		if err != nil {
			for _, p := range l.proxies {
				p.close()
			}
			return nil, fmt.Errorf("etcdtest: listen: %w", err)
		}
		if m.lockedRunning() {
			p.setBackend(m.proc.clientAddr())
		}
		l.proxies = append(l.proxies, p)
	}
	s.links = append(s.links, l)
	return l, nil
}

// Endpoints returns the link's addresses, one per member, for a client.
func (l *Link) Endpoints() []string {
	eps := make([]string, len(l.proxies))
	for i, p := range l.proxies {
		eps[i] = l.s.scheme() + "://" + p.addr()
	}
	return eps
}

// Cut closes the link's open connections, as a network blip would.
func (l *Link) Cut() {
	for _, p := range l.proxies {
		p.cut()
	}
}

// Partition holds back every byte through the link, both ways, on open
// connections and new ones, as a network partition would: requests hang,
// nothing is refused. Heal ends it.
func (l *Link) Partition() {
	for _, p := range l.proxies {
		p.pause(true)
	}
}

// Heal ends a Partition: the bytes held back are delivered.
func (l *Link) Heal() {
	for _, p := range l.proxies {
		p.pause(false)
	}
}

// Close stops etcd and the proxies and removes the data directory if New
// created it. Every goroutine and process of the server has ended when it
// returns. A closed Server cannot be started again; Close is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.ownDir {
		// The data goes: no need to wait for etcd to save it.
		s.lockedEach(func(m *Member) error { m.lockedKill(); return nil })
	} else {
		s.lockedEach(func(m *Member) error { m.lockedStop(); return nil })
	}
	s.closeProxies()
	for _, l := range s.links {
		for _, p := range l.proxies {
			p.close()
		}
	}
	if s.ownDir {
		if err := os.RemoveAll(s.dir); err != nil {
			return fmt.Errorf("etcdtest: remove data directory: %w", err)
		}
	}
	return nil
}

func (s *Server) closeProxies() {
	for _, m := range s.members {
		if m.proxy != nil {
			m.proxy.close()
		}
	}
}

// NewClient returns a client of the server, configured as
// [etcd.ClientConfig] configures one (its reconnect backoff, its token
// renewal), for tests: a short dial timeout, Options.Logger, with TLS,
// trust in Options.TLS.CAFile and its client certificate, and with
// Options.Auth, the root user's credentials. The caller closes it.
func (s *Server) NewClient() (*clientv3.Client, error) {
	return s.newClient(s.Endpoints(), true)
}

// newClient returns a client of the endpoints, as root if withAuth and
// Options.Auth is set.
func (s *Server) newClient(endpoints []string, withAuth bool) (*clientv3.Client, error) {
	cc := etcd.ClientConfig{Endpoints: endpoints, DialTimeout: 5 * time.Second}
	if f := s.opts.TLS; f != nil {
		cc.CAFile, cc.CertFile, cc.KeyFile = f.CAFile, f.ClientCertFile, f.ClientKeyFile
	}
	if a := s.opts.Auth; a != nil && withAuth {
		cc.Username, cc.Password = "root", a.RootPassword
	}
	cfg, err := cc.Config()
	if err != nil {
		return nil, fmt.Errorf("etcdtest: client: %w", err)
	}
	cfg.Logger = s.opts.Logger
	return clientv3.New(cfg)
}

// statusTimeout bounds one member's answer to a status request.
const statusTimeout = time.Second

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("etcdtest: pick a port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
