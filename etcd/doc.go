// Package etcd runs controlloop on etcd v3: a [Source] stores objects under
// a key prefix and serves them as a [controlloop.ListerWatcher] (what a
// reflector or an informer consumes) and a [controlloop.Client] (what a
// reconciler writes through); an [Elector] elects one leader among
// replicas on etcd's concurrency.Election, and [Source.Fenced] makes writes
// commit only while their leader still leads.
//
//	client, err := clientv3.New(clientv3.Config{Endpoints: []string{"127.0.0.1:2379"}})
//	pods, err := etcd.New[*Pod](client, etcd.Options{Prefix: "/registry/pods"})
//	r, err := reflector.New[*Pod](pods, fifo, reflector.Options{})
//
// # Keys and versions
//
// An object with key {Namespace, Name} is stored under
// <Prefix>/<Namespace>/<Name> (<Prefix>//<Name> with no namespace), encoded
// by Options.Codec (JSON by default). Its resource version is the key's mod
// revision in decimal, so every write by anyone gives a new version, and
// versions order changes across the whole cluster. Its UID is "uid-" and
// the key's create revision: a new object under an old name gets a new
// UID. Neither is stored in the value; both are set on every read, as are
// the namespace and name, from the key. Generation is stored: Create sets
// 1, Update increases it, UpdateStatus keeps it.
//
// # Writes
//
// Every write is one etcd transaction on one key:
//
//	Create        put if the key's create revision is 0  else ErrAlreadyExists
//	Update        put if its mod revision is the object's resource version
//	              (after a read for the stored Generation)  else ErrConflict, ErrNotFound
//	UpdateStatus  the same, keeping Generation
//	Delete        delete if it exists (and, with DeleteOptions.ResourceVersion,
//	              if its mod revision is that)  else ErrNotFound, ErrConflict
//
// A failed transaction reads the key in its Else branch, so the error says
// why without a second round trip. Objects returned by Get, List, Watch,
// Create and Update are decoded fresh from etcd's bytes: they share nothing
// with each other or with the caller's objects, which are never modified.
//
// # Lists
//
// A list is a range read over the prefix, or over <Prefix>/<Namespace>/ for
// a namespace selector. With a limit, the result carries a continue token
// holding the first page's revision and the last key returned; each later
// page reads from after that key at that revision, so all pages show one
// consistent state, whatever is written meanwhile. A page's own response
// header reports the current revision; it is ignored. A token whose
// revision has been compacted fails with [controlloop.ErrExpired].
//
// # Watches
//
// A watch from version v is an etcd watch from revision v+1 over the same
// range, asking for previous values, and for progress notifications if
// bookmarks are allowed: each becomes a Bookmark event. Compaction past the
// watch's revision ends it with an Error event wrapping
// [controlloop.ErrExpired]: the consumer lists again. A broken connection
// is healed by the etcd client, which re-creates the watch from the last
// revision it delivered; when the client gives up, the channel closes and
// the consumer watches again from its last version.
//
// # Selectors
//
// The namespace of a selector is served by etcd (a key range). Labels are
// matched on the client: etcd sends every object and change in the range,
// and the source filters them. A label selector therefore saves the
// consumer's memory and work but not etcd's or the network's. Under a label
// selector, watch events follow the API server's rules: an update that
// brings an object into the selector is Added, one that takes it out is
// Deleted.
//
// # Leader election and fencing
//
// [Elector] implements the reconcile package's LeaderElector with the
// protocol of etcd's concurrency.Election (FIFO candidates, each key bound
// to a lease of ElectorOptions.TTL). One Elector is one candidate: the
// Lead calls of all the controllers of a process share its term, so a
// process leads with all of them or none. Lead blocks until the candidate
// leads and returns a context cancelled when the term ends; once every
// caller's context has ended, the elector resigns (revokes its lease) and
// the next candidate leads within milliseconds.
//
// A leader that crashes or is cut off from etcd is replaced once etcd
// expires its lease, about TTL after its last renewal (measured: 2.1s with
// a 2s TTL, under a network partition). The cut-off leader cannot hear of
// it; it gives up by itself once its lease has gone unrenewed for 2/3 of
// the TTL (measured: 1.0-1.2s with a 2s TTL), normally before the other
// starts. Clocks and long pauses (a stopped process, a swapped-out host)
// can defeat that, so writes that must not outlive the term go through
// [Source.Fenced]: each carries the election key's create revision as a
// condition of its transaction, and etcd refuses it ([ErrNotLeader]) once
// the term is over, whatever the old leader believes.
//
// # Connection, TLS and credentials
//
// A Source and an Elector use the *clientv3.Client they are given: TLS,
// authentication and timeouts are that client's. [ClientConfig] builds a
// clientv3.Config from endpoints, PEM files and credentials, and from
// command-line flags; it never prints the password. This package logs no
// credentials: the elector logs election keys, identities and errors.
//
// # Concurrency
//
// A Source holds no mutable state: all its methods are safe for concurrent
// use, and each open watch runs one goroutine that ends when the watch's
// context is done. An Elector's methods are safe for concurrent use; while
// Lead calls are under way it runs one goroutine (two while it leads),
// which end once every caller's context has ended and the elector has let
// go of etcd; [Elector.Wait] waits for them.
//
// # Testing
//
// Package [github.com/controlloop/controlloop/etcd/etcdtest] starts an
// embedded etcd server on the loopback interface for tests and demos.
package etcd
