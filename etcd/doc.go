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
// # Bad values
//
// A value under the prefix that the codec cannot decode, or a key that is
// not <Prefix>/<namespace>/<name>, cannot keep a consumer from starting:
// List and Watch skip it and report it, with its key, in a log line at
// Warn, through Options.OnDecodeError, and in the Prometheus counter of
// Options.Metrics ([NewMetrics]); Get of that key fails with [ErrDecode]. The [JSON] codec stores each
// object's kind (the name of its type, or JSON.Kind) with it, so that a
// second type stored under the same prefix is refused ([ErrKind]) and
// reported, not decoded into wrong objects; values stored before it did
// (plain JSON) are read as before, and rewritten with their kind by the
// next write.
//
// # Round trips
//
// An object read back through the [JSON] codec equals the one written,
// but for what encoding/json cannot carry:
//
//   - unexported fields are not stored: they read back as zero values.
//     Export them, or give the type MarshalJSON and UnmarshalJSON methods,
//     or a Codec of your own;
//   - a channel field (even nil, even tagged omitempty) makes every write
//     fail with [controlloop.ErrInvalid], as do a float NaN or infinity and
//     a string that is not valid UTF-8;
//   - an empty map or slice in a field tagged omitempty reads back as nil,
//     which includes ObjectMeta's Labels and OwnerReferences;
//   - a time.Time keeps its instant and offset, not its monotonic reading
//     or its Location's name;
//   - pointers that share a value read back as separate copies.
//
// The store-owned metadata is not read from the value at all (see Keys and
// versions).
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
// bookmarks are allowed and the server orders them (below): each becomes a
// Bookmark event. Compaction past the watch's revision ends it with an
// Error event wrapping [controlloop.ErrExpired]: the consumer lists again.
// A broken connection is healed by the etcd client, which re-creates the
// watch from the last revision it delivered. A watch that has heard
// nothing from etcd for Options.UnavailableAfter (10s by default) probes
// etcd with a read of one key, bounded by the same time; if that fails, or
// the watch's member has lost its leader, the watch ends with an Error
// event wrapping [ErrUnavailable], which a reflector's WatchErrorHandler
// sees, and the consumer watches again. The probe goes through the client,
// which with several endpoints may reach another member than the watch's.
//
// # Bookmarks and server versions
//
// A bookmark says that every change up to its revision has been delivered,
// so a reflector resumes from it; one ahead of undelivered changes loses
// them. etcd before 3.4.31 and 3.5.13 (so Debian's and Ubuntu's 3.4.23)
// answers a requested progress notification at once, with its current
// revision, even to a watch still replaying history, and to every watch on
// the gRPC stream; later versions answer only once the watches on the
// stream have caught up, in order with their events (etcd PRs 15237 and
// 17557). Each Watch call therefore asks every endpoint of the client for
// its version (Status): only if all run a fixed version do progress
// notifications become bookmarks. Otherwise the watch has none (it does not
// ask for periodic ones; [Source.RequestProgress] fails with
// [errors.ErrUnsupported]); should a notification ahead of its events
// reach it anyway, it ends, since the etcd client would resume from there,
// and the consumer watches again from its last event. A consumer without
// bookmarks resumes from its last event: only compaction beyond it costs a
// relist.
//
// The watches of a Source share a gRPC stream of their own, apart from the
// client's other watches: a progress request by another user of the client
// does not reach them, and [Source.RequestProgress] reaches only them.
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
// to a lease of ElectorOptions.TTL). One Elector is one candidate, for one
// Lead at a time: a second Lead while one campaigns or leads fails at once
// with an error wrapping [reconcile.ErrElectorInUse]. For a process to lead
// with all its controllers or none, set its Elector as the
// [reconcile.Manager]'s LeaderElector: the manager campaigns once for all
// the controllers it runs. Lead blocks until the candidate leads and
// returns a context cancelled when the term ends; once that context has
// ended, the elector resigns (revokes its lease) and the next candidate
// leads at once, without waiting for the lease to expire.
//
// A leader that crashes or is cut off from etcd is replaced once etcd
// expires its lease, about TTL after its last renewal. The cut-off leader
// cannot hear of it; it gives up by itself once its lease has gone
// unrenewed for 2/3 of the TTL, before etcd expires the lease and another
// candidate leads. Clocks and long pauses (a stopped process, a
// swapped-out host) can defeat that, so writes that must not outlive the
// term go through [Source.Fenced]: each carries the election key's create
// revision as a condition of its transaction, and etcd refuses it
// ([ErrNotLeader]) once the term is over, whatever the old leader believes.
//
// # Sharding
//
// [Coordinator] implements package shard's Coordinator, so that N replicas
// of a controller each reconcile a share of the keys (see package shard
// for the protocol). Members and slot claims are keys bound to session
// leases under CoordinatorOptions.Prefix; a claim is a create-if-absent
// transaction, and its create revision is the slot's epoch.
// [Source.ShardFenced] makes each write compare the create revision of the
// claim of the slot it is made under with the epoch its reconcile started
// with, in the same transaction, so a leftover reconcile of a slot that
// has moved cannot write ([shard.ErrFenced]). [Fresh] makes a member wait,
// before it works a slot it has just claimed, until its informer has
// caught up with the claim. The example examples/sharded runs it, and the
// tests run it on the embedded server and on an external one of one and
// three members, with the raft leader killed (TestShardedChaos).
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
// use, and each open watch runs a goroutine (two until etcd has created the
// watch) that ends when the watch's context is done or the watch ends. An Elector's methods are safe for concurrent use; while
// a Lead campaigns or leads, the elector runs goroutines of its own, which
// end once the Lead's context (or its lead context) has ended and the elector has let go of
// etcd; [Elector.Wait] waits for them.
//
// # Invalid input
//
// [New], [NewElector], [ClientConfig.Config] and the etcdtest constructors
// refuse invalid options with an error wrapping [controlloop.ErrInvalid]
// whose message names the field and the rule ("etcd: Options.Prefix is
// "": must name a key prefix ..."); a zero value of an option means its
// documented default. A Source or an Elector not made by its constructor
// (nil or zero) fails every call with such an error instead of panicking.
//
// # Testing
//
// Package [github.com/controlloop/controlloop/etcd/etcdtest] starts an
// embedded etcd server on the loopback interface for tests and demos.
package etcd
