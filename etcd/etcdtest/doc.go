// Package etcdtest runs an embedded, single-member etcd server for tests
// and demos: no install step, no fixed port, a throwaway data directory.
//
//	func TestX(t *testing.T) {
//		srv := etcdtest.Start(t, etcdtest.Options{}) // closed when t ends
//		client := srv.Client(t)                      // closed before srv
//		...
//	}
//
// # What runs
//
// [Server.Start] starts etcd (go.etcd.io/etcd/server/v3/embed) on
// 127.0.0.1 with kernel-chosen ports, in Options.Dir or a new temporary
// directory, with 10ms raft ticks so that it elects itself at once:
// starting takes tens of milliseconds. Clients reach it through a small TCP
// proxy on 127.0.0.1 whose address, [Server.Endpoints], stays the same
// across restarts, while etcd itself gets new ports each time.
//
// # Faults
//
// [Server.Stop] cuts every client connection, as a crash would, and stops
// etcd, keeping its data; [Server.Start] resumes from it ([Server.Restart]
// does both). Clients see errors meanwhile and reconnect by themselves.
// [Server.CutConnections] cuts connections without stopping etcd, as a
// network blip would. [Server.NewLink] gives one client a way in of its
// own, which [Link.Cut] cuts and [Link.Partition] holds back (requests hang,
// nothing is refused, as in a network partition) until [Link.Heal].
// Compaction is done with the client (Compact).
//
// # Not for production
//
// By default etcd does not fsync (Options.Fsync) and serves plain HTTP with
// no authentication: data survives this process, not the machine.
//
// # Concurrency and cleanup
//
// A Server's methods are safe for concurrent use. [Server.Close] stops
// etcd and the proxy and returns once all their goroutines have exited, so
// tests can check for leaks with go.uber.org/goleak with no exceptions;
// close the clients first ([Start] and [Server.Client] order the cleanups
// so).
package etcdtest
