package etcdtest

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
)

// A Member is one member of a [Server]'s cluster: its own data directory,
// its own proxy, and, with Options.Binary, its own process. Its methods
// act on it alone; the Server's act on every member. They are safe for
// concurrent use and serialized with the Server's.
type Member struct {
	s     *Server
	index int // in s.members
	name  string
	dir   string
	proxy *proxy

	// Guarded by s.mu.
	peerPort int  // 0 until picked; fixed once the cluster has run
	proc     proc // nil while stopped
}

// proc is a running member: an embedded server or a process.
type proc interface {
	// clientAddr is the host:port etcd serves clients on.
	clientAddr() string
	// exited reports whether the member ended by itself.
	exited() bool
	// stop stops etcd in an orderly way, kill abruptly; both return once
	// it has ended.
	stop()
	kill()
	// pause and resume stop and continue the process.
	pause() error
	resume() error
}

// Name returns the member's name in the cluster, such as "m0".
func (m *Member) Name() string { return m.name }

// Dir returns the member's data directory.
func (m *Member) Dir() string { return m.dir }

// dataPath is where etcd keeps the member's data (its write-ahead log and
// snapshots) in its data directory.
func (m *Member) dataPath() string { return filepath.Join(m.dir, "member") }

// Endpoint returns the address clients dial to reach this member alone:
// its proxy's, which does not change when the member restarts.
func (m *Member) Endpoint() string { return m.s.scheme() + "://" + m.proxy.addr() }

func (m *Member) peerURL() string { return "http://127.0.0.1:" + strconv.Itoa(m.peerPort) }

// Start starts the member if it does not run and returns once it serves
// clients and knows a leader (in a cluster of three, one other member must
// run). It fails with [ErrRunning] if it runs and [ErrClosed] after Close.
func (m *Member) Start(ctx context.Context) error {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	switch {
	case m.s.closed:
		return ErrClosed
	case m.lockedRunning():
		return ErrRunning
	}
	ctx, cancel := context.WithTimeoutCause(ctx, m.s.opts.StartTimeout,
		fmt.Errorf("%w (%v)", ErrStartTimeout, m.s.opts.StartTimeout))
	defer cancel()
	return m.s.lockedStart(ctx, []*Member{m})
}

// Stop stops the member as [Server.Stop] does, keeping its data.
func (m *Member) Stop() {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	m.lockedStop()
}

// Kill kills the member as [Server.Kill] does.
func (m *Member) Kill() {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	m.lockedKill()
}

// Pause stops the member's process as [Server.Pause] does.
func (m *Member) Pause() error {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	return m.lockedPause()
}

// Resume continues the member's process as [Server.Resume] does.
func (m *Member) Resume() error {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	return m.lockedResume()
}

// lockedRunning reports whether the member runs; one whose process ended
// by itself is cleaned up and does not.
func (m *Member) lockedRunning() bool {
	if m.proc != nil && m.proc.exited() {
		m.lockedDetach()
		m.proc.stop()
		m.proc = nil
	}
	return m.proc != nil
}

// lockedStart starts the member and points its proxies at it.
func (m *Member) lockedStart(ctx context.Context) error {
	var (
		p   proc
		err error
	)
	if m.s.opts.Binary != "" {
		p, err = startExternal(ctx, m)
	} else {
		p, err = startEmbedded(ctx, m)
	}
	if err != nil {
		return fmt.Errorf("etcdtest: start %s: %w", m.name, err)
	}
	m.proc = p
	m.lockedAttach(p.clientAddr())
	return nil
}

// lockedAttach points the member's proxies, its own and its links', at
// addr; "" refuses new connections. Either way they cut the open ones.
func (m *Member) lockedAttach(addr string) {
	m.proxy.setBackend(addr)
	for _, l := range m.s.links {
		l.proxies[m.index].setBackend(addr)
	}
}

func (m *Member) lockedDetach() { m.lockedAttach("") }

func (m *Member) lockedStop() {
	if m.proc == nil {
		return
	}
	m.lockedDetach()
	m.proc.stop()
	m.proc = nil
}

func (m *Member) lockedKill() {
	if m.proc == nil {
		return
	}
	m.lockedDetach()
	m.proc.kill()
	m.proc = nil
}

func (m *Member) lockedPause() error {
	if !m.lockedRunning() {
		return fmt.Errorf("etcdtest: pause %s: %w", m.name, ErrNotRunning)
	}
	if err := m.proc.pause(); err != nil {
		return fmt.Errorf("etcdtest: pause %s: %w", m.name, err)
	}
	return nil
}

func (m *Member) lockedResume() error {
	if !m.lockedRunning() {
		return fmt.Errorf("etcdtest: resume %s: %w", m.name, ErrNotRunning)
	}
	if err := m.proc.resume(); err != nil {
		return fmt.Errorf("etcdtest: resume %s: %w", m.name, err)
	}
	return nil
}
