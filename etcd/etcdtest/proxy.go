package etcdtest

import (
	"errors"
	"net"
	"sync"
	"time"
)

// proxy forwards TCP connections from a fixed loopback address to the
// current etcd server, so that clients keep one endpoint across restarts
// (the server listens on a new port each time) and a stop can cut every
// client connection at once, as a crash would.
type proxy struct {
	ln net.Listener
	wg sync.WaitGroup // counts the accept loop and the copy goroutines

	mu      sync.Mutex // protects the fields below
	backend string     // address of the running server; "" while it is down
	conns   map[net.Conn]struct{}
	closed  bool
	// paused holds back every byte, as a network partition would: nothing
	// is delivered, nothing is refused.
	paused bool
}

func newProxy() (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{ln: ln, conns: make(map[net.Conn]struct{})}
	p.wg.Go(p.accept)
	return p, nil
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

// setBackend points new connections at addr ("" refuses them) and cuts the
// connections open so far.
func (p *proxy) setBackend(addr string) {
	p.mu.Lock()
	p.backend = addr
	p.lockedCut()
	p.mu.Unlock()
}

// cut closes every open connection; clients reconnect.
func (p *proxy) cut() {
	p.mu.Lock()
	p.lockedCut()
	p.mu.Unlock()
}

func (p *proxy) lockedCut() {
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// pause holds back every byte in both directions until resume, on the
// open connections and on new ones.
func (p *proxy) pause(on bool) {
	p.mu.Lock()
	p.paused = on
	p.mu.Unlock()
}

// waitResumed blocks while the proxy is paused, and reports whether c may
// still carry data (it was neither cut nor closed meanwhile).
func (p *proxy) waitResumed(c net.Conn) bool {
	for {
		p.mu.Lock()
		paused := p.paused
		_, open := p.conns[c]
		closed := p.closed
		p.mu.Unlock()
		if closed || !open {
			return false
		}
		if !paused {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// close stops accepting, cuts every connection and waits for the proxy's
// goroutines to end.
func (p *proxy) close() {
	p.mu.Lock()
	p.closed = true
	p.lockedCut()
	p.mu.Unlock()
	p.ln.Close()
	p.wg.Wait()
}

func (p *proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		p.mu.Lock()
		backend, closed := p.backend, p.closed
		p.mu.Unlock()
		if backend == "" || closed {
			c.Close()
			continue
		}
		s, err := net.Dial("tcp", backend)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		if p.closed || p.backend != backend {
			p.mu.Unlock()
			c.Close()
			s.Close()
			continue
		}
		p.conns[c] = struct{}{}
		p.conns[s] = struct{}{}
		p.mu.Unlock()
		p.wg.Go(func() { p.pipe(c, s) })
		p.wg.Go(func() { p.pipe(s, c) })
	}
}

// pipe copies from src to dst until either fails, then closes both.
func (p *proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.waitResumed(dst) {
				break
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
	dst.Close()
	src.Close()
}
