package etcdtest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/controlloop/controlloop/etcd/etcdtest"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// TestExternalKillPauseResume: an external member killed with SIGKILL
// resumes from its data directory, with the client's endpoint and its
// watch; a paused member hangs requests until Resume.
func TestExternalKillPauseResume(t *testing.T) {
	srv := etcdtest.Start(t, etcdtest.Options{Binary: etcdtest.Binary(t)})
	if !srv.External() || srv.Version() == "" {
		t.Fatalf("External %v, Version %q", srv.External(), srv.Version())
	}
	t.Logf("etcd %s", srv.Version())
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c := srv.Client(t)
	put, err := c.Put(ctx, "k", "v1")
	if err != nil {
		t.Fatal(err)
	}
	wch := c.Watch(ctx, "k", clientv3.WithRev(put.Header.Revision+1))
	srv.Kill()
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Put(ctx, "k", "v2"); err != nil {
		t.Fatal(err)
	}
	if wr := <-wch; wr.Err() != nil || len(wr.Events) != 1 || string(wr.Events[0].Kv.Value) != "v2" {
		t.Fatalf("watch across a kill: %v %v", wr.Err(), wr.Events)
	}
	if err := srv.Pause(); err != nil {
		t.Fatal(err)
	}
	pctx, pcancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err = c.Get(pctx, "k")
	pcancel()
	if err == nil {
		t.Error("a paused server answered")
	}
	if err := srv.Resume(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "k"); err != nil {
		t.Errorf("after Resume: %v", err)
	}
}

// TestPauseEmbedded: an embedded server cannot be paused.
func TestPauseEmbedded(t *testing.T) {
	srv := etcdtest.Start(t, etcdtest.Options{})
	if err := srv.Pause(); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Pause: %v, want ErrUnsupported", err)
	}
}

// TestClusterLosesLeader: a cluster of three, external and embedded,
// elects a new leader when its leader is killed, serves writes meanwhile,
// and takes the old leader back.
func TestClusterLosesLeader(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts func(t *testing.T) etcdtest.Options
	}{
		{"embedded", func(*testing.T) etcdtest.Options { return etcdtest.Options{Members: 3} }},
		{"external", func(t *testing.T) etcdtest.Options {
			return etcdtest.Options{Members: 3, Binary: etcdtest.Binary(t)}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := etcdtest.Start(t, tc.opts(t))
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			c := srv.Client(t)
			if len(srv.Endpoints()) != 3 {
				t.Fatalf("endpoints %v", srv.Endpoints())
			}
			if _, err := c.Put(ctx, "k", "1"); err != nil {
				t.Fatal(err)
			}
			old, err := srv.Leader(ctx)
			if err != nil {
				t.Fatal(err)
			}
			old.Kill()
			// A write in flight when the leader died times out: try again.
			t0 := time.Now()
			for {
				pctx, pcancel := context.WithTimeout(ctx, time.Second)
				_, err := c.Put(pctx, "k", "2")
				pcancel()
				if err == nil {
					break
				}
				if ctx.Err() != nil {
					t.Fatalf("write after the leader's death: %v", err)
				}
			}
			t.Logf("a write succeeded %v after the leader's death", time.Since(t0))
			var next *etcdtest.Member
			for next == nil {
				if next, err = srv.Leader(ctx); ctx.Err() != nil {
					t.Fatal(err)
				}
			}
			if next == old {
				t.Fatalf("leader %s is the killed one", next.Name())
			}
			if err := old.Start(ctx); err != nil {
				t.Fatal(err)
			}
			resp, err := c.Get(ctx, "k")
			if err != nil || string(resp.Kvs[0].Value) != "2" {
				t.Fatalf("after the old leader is back: %v %v", resp, err)
			}
		})
	}
}

// TestAuth: with Options.Auth the server's client is root, and the user
// may write only under its prefix.
func TestAuth(t *testing.T) {
	srv := etcdtest.Start(t, etcdtest.Options{Auth: &etcdtest.Auth{Prefix: "/mine/", TokenTTL: 2 * time.Second}})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	root := srv.Client(t)
	if _, err := root.Put(ctx, "/other", "x"); err != nil {
		t.Fatalf("root: %v", err)
	}
	a := srv.Options().Auth
	user, err := clientv3.New(clientv3.Config{Endpoints: srv.Endpoints(), Username: a.User, Password: a.Password, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer user.Close()
	if _, err := user.Put(ctx, "/mine/a", "x"); err != nil {
		t.Errorf("user under its prefix: %v", err)
	}
	if _, err := user.Put(ctx, "/other", "y"); !errors.Is(err, rpctypes.ErrPermissionDenied) {
		t.Errorf("user outside its prefix: %v, want permission denied", err)
	}
}

// TestPauseStopped: Pause and Resume of a member that does not run fail
// with ErrNotRunning; Start of a running member with ErrRunning.
func TestPauseStopped(t *testing.T) {
	srv := etcdtest.Start(t, etcdtest.Options{Binary: etcdtest.Binary(t)})
	m := srv.Members()[0]
	if err := m.Start(t.Context()); !errors.Is(err, etcdtest.ErrRunning) {
		t.Errorf("Start of a running member: %v, want ErrRunning", err)
	}
	m.Stop()
	if err := m.Pause(); !errors.Is(err, etcdtest.ErrNotRunning) {
		t.Errorf("Pause of a stopped member: %v, want ErrNotRunning", err)
	}
	if err := srv.Resume(); !errors.Is(err, etcdtest.ErrNotRunning) {
		t.Errorf("Resume of a stopped server: %v, want ErrNotRunning", err)
	}
}

// TestCloseReapsProcesses: once Close returns, no process of the server
// is left, running or unreaped (a zombie), whether it ran, was paused or
// was killed before.
func TestCloseReapsProcesses(t *testing.T) {
	bin := etcdtest.Binary(t)
	srv, err := etcdtest.New(etcdtest.Options{Binary: bin, Members: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := children(t); n != 3 {
		t.Fatalf("%d child processes running, want 3", n)
	}
	if err := srv.Members()[1].Pause(); err != nil {
		t.Fatal(err)
	}
	srv.Members()[2].Kill()
	if n := children(t); n != 2 {
		t.Errorf("%d child processes after a Kill, want 2 (the killed one reaped)", n)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if n := children(t); n != 0 {
		t.Errorf("%d child processes after Close, want none", n)
	}
}

// children counts this process's child processes, zombies included.
func children(t *testing.T) int {
	t.Helper()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil || len(stats) == 0 {
		t.Skipf("no /proc to count processes in: %v", err)
	}
	n := 0
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // ended meanwhile
		}
		// pid (comm) state ppid ...: comm may hold spaces, not ')'.
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(os.Getpid()) {
			n++
		}
	}
	return n
}

// TestFindBinary: $CONTROLLOOP_ETCD_BINARY names the binary; one that
// does not exist is ErrNoBinary.
func TestFindBinary(t *testing.T) {
	t.Setenv(etcdtest.BinaryEnv, "/does/not/exist")
	if _, err := etcdtest.FindBinary(); !errors.Is(err, etcdtest.ErrNoBinary) {
		t.Errorf("FindBinary with a missing $%s: %v, want ErrNoBinary", etcdtest.BinaryEnv, err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(etcdtest.BinaryEnv, self)
	if p, err := etcdtest.FindBinary(); err != nil || p != self {
		t.Errorf("FindBinary: %q %v, want %q", p, err, self)
	}
}

// TestBinarySkipsOrFails: without a binary, Binary skips the test, saying
// how to install one, and fails it when CI is set. It runs this test's
// binary again with the environment of each case.
func TestBinarySkipsOrFails(t *testing.T) {
	if os.Getenv("ETCDTEST_BINARY_CHILD") != "" {
		etcdtest.Binary(t)
		return
	}
	for _, tc := range []struct {
		ci   string
		want string
	}{
		{"", "--- SKIP"},
		{"true", "--- FAIL"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestBinarySkipsOrFails$", "-test.v")
		cmd.Env = append(os.Environ(), "ETCDTEST_BINARY_CHILD=1", etcdtest.BinaryEnv+"=/does/not/exist", "CI="+tc.ci)
		out, _ := cmd.CombinedOutput()
		if !bytes.Contains(out, []byte(tc.want)) || !bytes.Contains(out, []byte("apt-get install etcd-server")) {
			t.Errorf("CI=%q: want %s saying apt-get install etcd-server; got:\n%s", tc.ci, tc.want, out)
		}
	}
}

// TestStartServes: once Start returns, every member serves and the cluster
// has a leader: etcd's /health, asked once through each member's endpoint,
// is true.
func TestStartServes(t *testing.T) {
	srv := etcdtest.Start(t, etcdtest.Options{Binary: etcdtest.Binary(t), Members: 3})
	for _, m := range srv.Members() {
		resp, err := http.Get(m.Endpoint() + "/health")
		if err != nil {
			t.Errorf("%s right after Start: %v", m.Name(), err)
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"health":"true"`)) {
			t.Errorf("%s right after Start: %s %s %v", m.Name(), resp.Status, body, err)
		}
	}
}

// TestLeaderWithPausedMember: Leader answers while a member is paused,
// whichever it is; with the leader paused, the others elect another.
func TestLeaderWithPausedMember(t *testing.T) {
	srv := etcdtest.Start(t, etcdtest.Options{Binary: etcdtest.Binary(t), Members: 3})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	old, err := srv.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Pause(); err != nil {
		t.Fatal(err)
	}
	defer old.Resume()
	for {
		next, err := srv.Leader(ctx)
		if err == nil && next != old {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("no other leader while %s is paused: %v", old.Name(), err)
		}
		time.Sleep(100 * time.Millisecond) // polling the cluster's election
	}
}
