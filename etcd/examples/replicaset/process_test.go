package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/etcd/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// TestFailoverBetweenProcesses (issue 13, item 8) runs the example as two
// OS processes (-scenario=false) on one etcd, the embedded server and an
// installed etcd binary (Debian's 3.4), and freezes the leading process
// with SIGSTOP, as a hung machine would be:
//
//   - The other leads within TTL + 1s, and the ReplicaSet, scaled
//     meanwhile, converges with no Pod created twice. Once resumed with
//     SIGCONT, the frozen process finds its term over and campaigns again,
//     as a follower.
//   - Then the new leader is frozen with a Pod create on its way to etcd:
//     what it sends is held back (etcd's answers still reach it), the
//     ReplicaSet is scaled up so that it creates a Pod, then frozen once
//     the create is held. The ReplicaSet is scaled back down and the other
//     takes over. The held create then reaches etcd, which refuses it: the
//     term it carries is over (the fence). The Pod never exists.
//
// The failover times are logged: run with -count to measure them.
func TestFailoverBetweenProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the example and runs it as two processes")
	}
	bin := buildExample(t)
	for _, server := range []string{"embedded", "etcd binary"} {
		t.Run(server, func(t *testing.T) {
			var opts etcdtest.Options
			if server == "etcd binary" {
				opts.Binary = etcdtest.Binary(t)
			}
			srv := etcdtest.Start(t, opts)
			t.Logf("etcd %s", srv.Version())
			testFailoverBetweenProcesses(t, bin, srv)
		})
	}
}

func testFailoverBetweenProcesses(t *testing.T, bin string, srv *etcdtest.Server) {
	const ttl = 2 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	user := srv.Client(t)
	rsClient, podClient := sources(t, user, "/procs")
	procs := map[string]*process{"a": startProcess(t, bin, srv, "a", ttl), "b": startProcess(t, bin, srv, "b", ttl)}
	waitCandidates(t, ctx, user, 2)
	leaderAndFollower := func() (*process, *process) {
		t.Helper()
		id, _ := leaderKey(t, ctx, user)
		if procs[id] == nil {
			t.Fatalf("leader %q", id)
		}
		if id == "a" {
			return procs["a"], procs["b"]
		}
		return procs["b"], procs["a"]
	}

	key := controlloop.Key{Namespace: "nsA", Name: "rsA"}
	createReplicaSet(t, ctx, rsClient, key, 3)
	waitConverged(t, ctx, rsClient, podClient, key, 3, 20*time.Second)

	// 1. SIGSTOP of the leader: the other leads within TTL + 1s.
	frozen, other := leaderAndFollower()
	terms := other.terms()
	t0 := time.Now()
	frozen.signal(t, syscall.SIGSTOP)
	scale(t, ctx, rsClient, key, 5)
	took := other.waitTerm(t, terms, t0, ttl+time.Second)
	t.Logf("failover after SIGSTOP of the leader: %s led %v after %s was stopped (TTL %v)", other.name, took.Round(time.Millisecond), frozen.name, ttl)
	waitConverged(t, ctx, rsClient, podClient, key, 5, 20*time.Second)
	checkCreatedOnce(t, ctx, user, "/procs/pods/", 5)

	// Resumed, it finds its term over and campaigns again as a follower.
	frozen.signal(t, syscall.SIGCONT)
	frozen.waitLog(t, ctx, "etcd: lost leadership")
	waitCandidates(t, ctx, user, 2)
	if l, _ := leaderAndFollower(); l != other {
		t.Fatalf("%s leads after resuming", l.name)
	}

	// 2. Freeze the new leader with a Pod create held on its way to etcd.
	leader, follower := other, frozen
	_, termKey := leaderKey(t, ctx, user)
	terms = follower.terms()
	t1 := time.Now()
	leader.valve.hold() // its lease is no longer renewed from here on
	scale(t, ctx, rsClient, key, 6)
	leader.waitLog(t, ctx, "reconcile ReplicaSet nsA/rsA: want 6, have 5: create 1")
	for deadline := time.Now().Add(10 * time.Second); leader.valve.pending() < minCreateBytes; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s's create is not held: %d bytes held back, want at least %d:\n%s", leader.name, leader.valve.pending(), minCreateBytes, leader.log.String())
		}
	}
	leader.signal(t, syscall.SIGSTOP)
	scale(t, ctx, rsClient, key, 5)
	took = follower.waitTerm(t, terms, t1, ttl+time.Second)
	t.Logf("failover after SIGSTOP of a leader cut off from etcd: %s led %v after %s's requests were held (TTL %v)", follower.name, took.Round(time.Millisecond), leader.name, ttl)
	waitConverged(t, ctx, rsClient, podClient, key, 5, 20*time.Second)

	// The held create reaches etcd now, which refuses it. Resumed, the
	// process either reads that refusal or has given up its term first
	// and abandons the call.
	leader.valve.release()
	waitUntil(t, ctx, "the held requests are sent", func() bool { return leader.valve.pending() == 0 })
	leader.signal(t, syscall.SIGCONT)
	leader.waitLog(t, ctx, "etcd: lost leadership")
	m := leader.waitLog(t, ctx, `create pod (\S+): etcd: create \S+: (etcd: not the leader|context canceled)`)
	t.Logf("%s's create of Pod %s, held while it was frozen: %s", leader.name, m[1], m[2])
	waitConverged(t, ctx, rsClient, podClient, key, 5, 20*time.Second)
	creates, history := podCreates(t, ctx, user, "/procs/pods/")
	if n := creates["/procs/pods/"+m[1]]; n != 0 {
		t.Errorf("the held create of Pod %s took effect after %s's term (key %s) ended: %q", m[1], leader.name, termKey, history["/procs/pods/"+m[1]])
	}
	for k, n := range creates {
		if n > 1 {
			t.Errorf("pod %s created %d times: %q", k, n, history[k])
		}
	}
}

// minCreateBytes is less than what a Pod create sends, and more than the
// lease renewals sent while it waits.
const minCreateBytes = 300

// leaderKey returns the identity of the leader of the election under
// /procs/leader and its key.
func leaderKey(t *testing.T, ctx context.Context, c *clientv3.Client) (id, key string) {
	t.Helper()
	resp, err := c.Get(ctx, "/procs/leader/", clientv3.WithFirstCreate()...)
	if err != nil || len(resp.Kvs) == 0 {
		t.Fatalf("leader: %v (%d keys)", err, len(resp.Kvs))
	}
	return string(resp.Kvs[0].Value), string(resp.Kvs[0].Key)
}

// buildExample builds the example's command into a temporary directory.
func buildExample(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to build the example with: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "replicaset")
	out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// process is one replica of the example as an OS process, reaching etcd
// through a valve of its own.
type process struct {
	name  string
	cmd   *exec.Cmd
	valve *valve
	log   traceLog // its stdout and stderr
	done  chan error
}

func startProcess(t *testing.T, bin string, srv *etcdtest.Server, name string, ttl time.Duration) *process {
	t.Helper()
	p := &process{name: name, valve: newValve(t, strings.TrimPrefix(srv.Endpoints()[0], "http://")), done: make(chan error, 1)}
	p.cmd = exec.Command(bin, "-endpoints", "http://"+p.valve.addr(), "-prefix", "/procs", "-identity", name,
		"-ttl", ttl.String(), "-scenario=false", "-v")
	p.cmd.Stdout, p.cmd.Stderr = &p.log, &p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop interrupts the process, as a user would, and waits until it has
// exited; one that does not exit within 10s is killed.
func (p *process) stop(t *testing.T) {
	p.valve.release()
	_ = p.cmd.Process.Signal(syscall.SIGCONT)
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("%s exited: %v\n%s", p.name, err, p.log.String())
		}
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Errorf("%s did not exit on interrupt:\n%s", p.name, p.log.String())
	}
}

func (p *process) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("%s: %v: %v", p.name, sig, err)
	}
}

// terms counts the terms the process has won, from its log.
func (p *process) terms() int { return strings.Count(p.log.String(), "etcd: leading") }

// waitTerm waits until the process has won a term more than it had won
// before (terms), failing the test unless it does within limit of since,
// and returns how long after since it did.
func (p *process) waitTerm(t *testing.T, terms int, since time.Time, limit time.Duration) time.Duration {
	t.Helper()
	for p.terms() <= terms {
		if time.Since(since) > limit {
			t.Fatalf("%s did not lead within %v:\n%s", p.name, limit, p.log.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(since)
}

// waitLog waits until the process logs a line that matches the regular
// expression re, and returns the match and its subexpressions.
func (p *process) waitLog(t *testing.T, ctx context.Context, re string) []string {
	t.Helper()
	r := regexp.MustCompile(re)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := r.FindStringSubmatch(p.log.String()); m != nil {
			return m
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("%s did not log %q:\n%s", p.name, re, p.log.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitCandidates waits until the election under /procs/leader has n
// candidates.
func waitCandidates(t *testing.T, ctx context.Context, c *clientv3.Client, n int) {
	t.Helper()
	waitUntil(t, ctx, fmt.Sprintf("%d candidates", n), func() bool {
		resp, err := c.Get(ctx, "/procs/leader/", clientv3.WithPrefix(), clientv3.WithCountOnly())
		return err == nil && resp.Count == int64(n)
	})
}

// valve is a TCP proxy from one process to etcd that can hold back what
// the process sends while still passing etcd's answers: a request made
// while it is held waits in the valve, where [valve.pending] counts its
// bytes, until [valve.release].
type valve struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup // counts the proxy's goroutines

	mu    sync.Mutex // protects the fields below
	open  *sync.Cond // broadcast when held turns false, data arrives or the valve closes
	held  bool
	wait  int // bytes held back
	conns []net.Conn
	done  bool
}

func newValve(t *testing.T, target string) *valve {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	v := &valve{ln: ln, target: target}
	v.open = sync.NewCond(&v.mu)
	v.wg.Go(v.accept)
	t.Cleanup(v.close)
	return v
}

func (v *valve) addr() string { return v.ln.Addr().String() }

// hold holds back what the process sends from now on.
func (v *valve) hold() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.held = true
}

// release sends what was held back, and passes the rest.
func (v *valve) release() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.held = false
	v.open.Broadcast()
}

// pending returns the number of bytes held back and not yet sent on.
func (v *valve) pending() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.wait
}

func (v *valve) close() {
	v.ln.Close()
	v.mu.Lock()
	v.done = true
	for _, c := range v.conns {
		c.Close()
	}
	v.open.Broadcast()
	v.mu.Unlock()
	v.wg.Wait()
}

func (v *valve) accept() {
	for {
		c, err := v.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", v.target)
		if err != nil {
			c.Close()
			continue
		}
		v.mu.Lock()
		if v.done {
			v.mu.Unlock()
			c.Close()
			up.Close()
			return
		}
		v.conns = append(v.conns, c, up)
		v.mu.Unlock()
		v.wg.Go(func() { v.send(c, up) })
		v.wg.Go(func() {
			_, _ = io.Copy(c, up)
			c.Close()
		})
	}
}

// send copies what the process sends to etcd: one goroutine reads it,
// counting what waits, and this one passes it on unless the valve is held.
func (v *valve) send(from, to net.Conn) {
	defer to.Close()
	var (
		queue [][]byte // read, not yet sent on; guarded by v.mu
		eof   bool     // the reader has stopped; guarded by v.mu
	)
	v.wg.Go(func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := from.Read(buf)
			v.mu.Lock()
			if n > 0 {
				queue = append(queue, slices.Clone(buf[:n]))
				v.wait += n
			}
			eof = err != nil
			v.open.Broadcast()
			v.mu.Unlock()
			if err != nil {
				return
			}
		}
	})
	v.mu.Lock()
	defer v.mu.Unlock()
	for {
		for !v.done && (v.held || len(queue) == 0 && !eof) {
			v.open.Wait()
		}
		if v.done || len(queue) == 0 {
			return
		}
		chunk := queue[0]
		queue = queue[1:]
		v.mu.Unlock()
		_, err := to.Write(chunk)
		v.mu.Lock()
		v.wait -= len(chunk)
		if err != nil {
			return
		}
	}
}
