package etcdtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// BinaryEnv is the environment variable that names the etcd executable
// that [Binary] and [FindBinary] return.
const BinaryEnv = "CONTROLLOOP_ETCD_BINARY"

// FindBinary returns the path of an etcd executable: the one that
// $CONTROLLOOP_ETCD_BINARY names, else "etcd" on $PATH, else
// /usr/bin/etcd (Debian's etcd-server puts it there). It fails with
// [ErrNoBinary] if there is none.
func FindBinary() (string, error) {
	if p := os.Getenv(BinaryEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%w: $%s: %w", ErrNoBinary, BinaryEnv, err)
		}
		return p, nil
	}
	if p, err := exec.LookPath("etcd"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/bin/etcd"); err == nil {
		return "/usr/bin/etcd", nil
	}
	return "", ErrNoBinary
}

// Binary returns the path of an etcd executable for a test, as
// [FindBinary] finds it, for Options.Binary. When there is none, it skips
// tb with a message saying how to install one, unless the environment
// variable CI is set: there a missing binary fails tb.
func Binary(tb testing.TB) string {
	tb.Helper()
	p, err := FindBinary()
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("%v (CI is set: a missing binary is a failure)", err)
		}
		tb.Skip(err)
	}
	return p
}

// Start starts a server for the test tb and closes it when tb ends. It
// fails tb if the server cannot start.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s, err := New(opts)
	if err != nil {
		tb.Fatalf("etcdtest: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("etcdtest: close: %v", err)
		}
	})
	if err := s.Start(context.Background()); err != nil {
		tb.Fatalf("etcdtest: %v", err)
	}
	return s
}

// Client returns a new client of s for the test tb and closes it when tb
// ends, before s closes if s was started by [Start] for tb.
func (s *Server) Client(tb testing.TB) *clientv3.Client {
	tb.Helper()
	c, err := s.NewClient()
	if err != nil {
		tb.Fatalf("etcdtest: client: %v", err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}
