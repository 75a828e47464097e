// Package etcdtest runs etcd for tests and demos: an embedded server (no
// install step) or the processes of an installed etcd binary, one member
// or a cluster, on the loopback interface, with no fixed port and a
// throwaway data directory.
//
//	func TestX(t *testing.T) {
//		srv := etcdtest.Start(t, etcdtest.Options{}) // closed when t ends
//		client := srv.Client(t)                      // closed before srv
//		...
//	}
//
// # What runs
//
// [Server.Start] starts etcd in Options.Dir or a new temporary directory,
// with short raft ticks so that a member elects itself at once. By default
// etcd is embedded in the test's process (go.etcd.io/etcd/server/v3/embed).
// With Options.Binary, each member is a process of that executable, such as
// Debian's etcd 3.4 (package etcd-server): [Binary] finds one for a test,
// from $CONTROLLOOP_ETCD_BINARY, $PATH or /usr/bin/etcd, and skips the test
// when there is none, or fails it when the environment variable CI is set.
// Options.Members runs a cluster (embedded or not); [Server.Members] and
// [Server.Leader] reach each member.
//
// Clients reach each member through a small TCP proxy on 127.0.0.1 whose
// address, one of [Server.Endpoints], stays the same across restarts, while
// etcd itself gets new client ports each time (free ports picked on
// 127.0.0.1; Start picks again if one was taken meanwhile).
//
// # Faults
//
// [Server.Stop] cuts every client connection, as a crash would, and stops
// etcd, keeping its data; [Server.Start] resumes from it ([Server.Restart]
// does both). Clients see errors meanwhile and reconnect by themselves.
// [Server.Kill] kills the processes with SIGKILL (an embedded server can
// only be stopped), and [Server.Pause] freezes them with SIGSTOP until
// [Server.Resume], as a hung machine would (external servers only). Each
// [Member] has the same methods for itself alone, so that a test can kill
// or freeze the leader of a cluster.
// [Server.CutConnections] cuts connections without stopping etcd, as a
// network blip would. [Server.NewLink] gives one client a way in of its
// own, which [Link.Cut] cuts and [Link.Partition] holds back (requests hang,
// nothing is refused, as in a network partition) until [Link.Heal].
// Compaction is done with the client (Compact).
//
// # Security
//
// Options.TLS serves clients over TLS, with client certificates if asked;
// [WriteTLSFiles] writes a CA and certificates for it. Options.Auth turns on
// etcd's password authentication with a root user and a user limited to a
// prefix, and a token lifetime of its choosing.
//
// # Not for production
//
// By default etcd does not fsync (Options.Fsync; etcd 3.4 has no way to turn
// it off, so its processes always do) and serves plain HTTP with no
// authentication: data survives this process, not the machine.
//
// # Concurrency and cleanup
//
// A Server's methods are safe for concurrent use. [Server.Close] stops
// etcd and the proxies and returns once all their goroutines and processes
// have exited (processes are reaped), so tests can check for leaks with
// go.uber.org/goleak with no exceptions; close the clients first ([Start]
// and [Server.Client] order the cleanups so). On Linux, a process of
// etcdtest is killed by the kernel if the test's process dies first.
package etcdtest
