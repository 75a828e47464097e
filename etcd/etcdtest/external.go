//go:build unix

package etcdtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// external is a member run as a process of its own, from Options.Binary.
type external struct {
	cmd  *exec.Cmd
	addr string
	done chan struct{} // closed once the process has ended and been reaped
}

// stopGrace bounds how long stop waits for etcd to exit after SIGTERM
// before it kills it.
const stopGrace = 10 * time.Second

// startExternal starts m's process and waits until it serves clients and
// knows a leader. etcd's output goes to the file etcdtest.log in the
// member's data directory; the error of a failed start quotes its end.
func startExternal(ctx context.Context, m *Member) (proc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(m.dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	logPath := filepath.Join(m.dir, "etcdtest.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	defer logf.Close() // the process has its own descriptor
	logStart, _ := logf.Seek(0, io.SeekEnd)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(m.s.opts.Binary, externalArgs(m, addr)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = environWithoutEtcd()
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	x := &external{cmd: cmd, addr: addr, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(x.done)
	}()
	if err := x.waitReady(ctx, m); err != nil {
		x.kill()
		log := logTail(logPath, logStart)
		if bytes.Contains(log, []byte("address already in use")) {
			err = fmt.Errorf("%w: %w", errAddrInUse, err)
		}
		return nil, fmt.Errorf("%w; end of %s:\n%s", err, logPath, log)
	}
	return x, nil
}

// externalArgs are the command-line flags of m's process: the flags of
// [embedConfig], as the binary's version spells them.
func externalArgs(m *Member, addr string) []string {
	o := m.s.opts
	tick, election := m.s.ticks()
	scheme := m.s.scheme()
	args := []string{
		"--name", m.name,
		"--data-dir", m.dir,
		"--listen-client-urls", scheme + "://" + addr,
		"--advertise-client-urls", scheme + "://" + m.proxy.addr(),
		"--listen-peer-urls", m.peerURL(),
		"--initial-advertise-peer-urls", m.peerURL(),
		"--initial-cluster", m.s.initialCluster(),
		"--initial-cluster-token", "etcdtest",
		"--initial-cluster-state", "new",
		"--heartbeat-interval", strconv.Itoa(int(tick / time.Millisecond)),
		"--election-timeout", strconv.Itoa(int(election / time.Millisecond)),
		"--bcrypt-cost", "4",
		"--logger", "zap",
		"--log-outputs", "stderr",
	}
	progress := "--experimental-watch-progress-notify-interval"
	if versionAtLeast(m.s.version, 3, 6) {
		progress = "--watch-progress-notify-interval"
	}
	args = append(args, progress, o.ProgressNotifyInterval.String())
	if !o.Fsync && versionAtLeast(m.s.version, 3, 5) {
		args = append(args, "--unsafe-no-fsync")
	}
	if a := o.Auth; a != nil {
		args = append(args, "--auth-token", "simple", "--auth-token-ttl", strconv.Itoa(int(a.TokenTTL/time.Second)))
	}
	if f := o.TLS; f != nil {
		args = append(args, "--cert-file", f.CertFile, "--key-file", f.KeyFile)
		if f.CAFile != "" {
			args = append(args, "--trusted-ca-file", f.CAFile)
		}
		if f.ClientCertAuth {
			args = append(args, "--client-cert-auth")
		}
	}
	return args
}

// versionAtLeast reports whether the version v ("3.4.23") is at least
// major.minor.
func versionAtLeast(v string, major, minor int) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	maj, err1 := strconv.Atoi(parts[0])
	mnr, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return maj > major || maj == major && mnr >= minor
}

// environWithoutEtcd is this process's environment without the ETCD_
// variables, which etcd would read as flags.
func environWithoutEtcd() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ETCD_") {
			env = append(env, kv)
		}
	}
	return env
}

// waitReady polls the member until it knows a leader and serves a
// linearizable read (what etcd's /health checks),
// the process ends, or ctx ends.
func (x *external) waitReady(ctx context.Context, m *Member) error {
	c, err := m.s.newClient([]string{m.s.scheme() + "://" + x.addr}, true)
	if err != nil {
		return err
	}
	defer c.Close()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var last error // the last answer that was not ready, for the error
	for {
		// Serving means what etcd's /health checks: a leader, and a
		// linearizable read through this member (which a leader elected a
		// moment ago cannot serve until it has committed in its term).
		sctx, cancel := context.WithTimeout(ctx, statusTimeout)
		st, err := c.Status(sctx, m.s.scheme()+"://"+x.addr)
		if err == nil && st.Leader != 0 {
			_, err = c.Get(sctx, "health")
		}
		cancel()
		switch {
		case err == nil && st.Leader != 0:
			return nil
		case err == nil:
			last = errors.New("no leader")
		default:
			last = err
		}
		select {
		case <-x.done:
			return fmt.Errorf("etcd exited: %v", x.cmd.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", context.Cause(ctx), last)
		case <-tick.C:
		}
	}
}

// logTail returns the end of the log file from offset from.
func logTail(path string, from int64) []byte {
	b, err := os.ReadFile(path)
	if err != nil || from > int64(len(b)) {
		return nil
	}
	b = b[from:]
	const max = 4 << 10
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return b
}

func (x *external) clientAddr() string { return x.addr }

func (x *external) exited() bool {
	select {
	case <-x.done:
		return true
	default:
		return false
	}
}

func (x *external) stop() {
	x.cmd.Process.Signal(syscall.SIGTERM)
	x.cmd.Process.Signal(syscall.SIGCONT) // a paused process gets the SIGTERM
	select {
	case <-x.done:
	case <-time.After(stopGrace):
		x.kill()
	}
}

func (x *external) kill() {
	x.cmd.Process.Signal(syscall.SIGKILL)
	<-x.done
}

// pause stops the process and returns once every thread of it has
// stopped, where /proc shows it (SIGSTOP is delivered asynchronously: a
// thread on a CPU may answer one more request).
func (x *external) pause() error {
	if err := x.signal(syscall.SIGSTOP); err != nil {
		return err
	}
	deadline := time.Now().Add(stopGrace)
	for !x.allStopped() && time.Now().Before(deadline) && !x.exited() {
		time.Sleep(time.Millisecond)
	}
	return nil
}

// allStopped reports whether every thread of the process is stopped, or
// there is no /proc to tell.
func (x *external) allStopped() bool {
	stats, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", x.cmd.Process.Pid))
	if err != nil || len(stats) == 0 {
		return true
	}
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the thread ended
		}
		// pid (comm) state ...: comm may hold spaces, not ')'.
		if f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:])); len(f) == 0 || f[0] != "T" {
			return false
		}
	}
	return true
}

func (x *external) resume() error { return x.signal(syscall.SIGCONT) }

func (x *external) signal(sig os.Signal) error {
	if err := x.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}
