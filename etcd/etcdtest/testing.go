package etcdtest

import (
	"context"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
)

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
