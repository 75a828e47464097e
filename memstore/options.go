package memstore

import "time"

// Options configure a [Store]. The zero Options is valid: every field has a
// default. [New] refuses invalid options with an error wrapping
// [controlloop.ErrInvalid].
type Options struct {
	// HistorySize is how many past changes the store keeps so that a watch
	// can resume from an older version. A watch, or a continue token, whose
	// version is older than the changes held yields an error wrapping
	// [controlloop.ErrExpired]. It must not be negative. Defaults to 10000
	// changes.
	HistorySize int
	// MaxWatchLag bounds how far an open watch may fall behind the newest
	// change. Beyond the last HistorySize changes the store keeps the
	// changes an open watch has yet to deliver, so that a watcher whose
	// consumer is slower than the writers catches up instead of losing its
	// watch; one that falls more than MaxWatchLag changes behind ends with
	// an Error event wrapping [controlloop.ErrExpired]. It must not be
	// negative; less than HistorySize counts as HistorySize. Defaults to
	// 1,000,000 changes.
	MaxWatchLag int
	// BookmarkInterval is how often a watch that asked for bookmarks
	// (WatchOptions.AllowBookmarks) receives a Bookmark event carrying the
	// newest version it has been brought to, when that version moved since
	// the last event it received: changes its selector filtered out still
	// advance it. It must not be negative. Defaults to 0: no bookmarks.
	BookmarkInterval time.Duration
	// Codec, if set, makes the store keep what a serialising backend
	// would: every write is encoded with it and decoded into a new T, and
	// the store keeps (and reads return) the decoded object. With the etcd
	// module's JSON codec (etcd.JSON{}, whose methods match), a controller
	// tested on memstore sees what it would see on etcd: unexported fields
	// dropped, empty maps and slices under omitempty read as nil, strings
	// that are not valid UTF-8 refused. A write the codec cannot encode or
	// decode fails with [controlloop.ErrInvalid]. Defaults to nil: objects
	// are copied (see Isolation in the package doc).
	Codec Codec
}

// Codec turns objects into bytes and back, as a backend that stores
// bytes does. Decode is given a pointer to a new zero value of the struct
// T points to. The etcd module's Codec has the same methods.
type Codec interface {
	Encode(obj any) ([]byte, error)
	Decode(data []byte, obj any) error
}

const (
	defaultHistorySize = 10000
	defaultMaxWatchLag = 1_000_000
	// chanCap is the capacity of each watch channel: how far a watcher's
	// goroutine may run ahead of its consumer.
	chanCap = 32
	// batchSize is how many changes a watcher copies out of the history
	// while holding the read lock.
	batchSize = 128
	// maxSnapshots is how many list snapshots are kept for continue tokens.
	maxSnapshots = 4
)

func (o Options) validate() error {
	switch {
	case o.HistorySize < 0:
		return invalid("Options.HistorySize", o.HistorySize, "must not be negative")
	case o.MaxWatchLag < 0:
		return invalid("Options.MaxWatchLag", o.MaxWatchLag, "must not be negative")
	case o.BookmarkInterval < 0:
		return invalid("Options.BookmarkInterval", o.BookmarkInterval, "must not be negative")
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.HistorySize == 0 {
		o.HistorySize = defaultHistorySize
	}
	if o.MaxWatchLag == 0 {
		o.MaxWatchLag = defaultMaxWatchLag
	}
	o.MaxWatchLag = max(o.MaxWatchLag, o.HistorySize)
	return o
}
