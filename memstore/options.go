package memstore

import (
	"fmt"
	"time"
)

// Options configure a [Store]. The zero Options is valid: every field has a
// default.
type Options struct {
	// HistorySize is how many past changes the store keeps so that a watch
	// can resume from an older version. A watch, or a continue token, whose
	// version is older than the window yields an error wrapping
	// [controlloop.ErrExpired]. It also bounds how far a watcher replaying
	// history may fall behind: one whose next event drops out of the window
	// is closed. Defaults to 10000 changes.
	HistorySize int
	// WatchBuffer is how many changes written after a watch began may wait
	// for its consumer. A watcher further behind than that is closed (its
	// channel closes with no Error event), so that its consumer watches
	// again; a slow consumer never blocks writers nor grows memory. The
	// replay of history at the start of a watch does not count against it.
	// Defaults to 1000 changes.
	WatchBuffer int
	// BookmarkInterval is how often a watch that asked for bookmarks
	// (WatchOptions.AllowBookmarks) receives a Bookmark event carrying the
	// newest version it has been brought to, when that version moved since
	// the last event it received: changes its selector filtered out still
	// advance it. Defaults to 0: no bookmarks.
	BookmarkInterval time.Duration
}

const (
	defaultHistorySize = 10000
	defaultWatchBuffer = 1000
	// chanCap is the capacity of each watch channel: how far a watcher's
	// goroutine may run ahead of its consumer. Events in the channel count as
	// taken for WatchBuffer.
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
		return fmt.Errorf("memstore: %T.HistorySize must not be negative, got %d", o, o.HistorySize)
	case o.WatchBuffer < 0:
		return fmt.Errorf("memstore: %T.WatchBuffer must not be negative, got %d", o, o.WatchBuffer)
	case o.BookmarkInterval < 0:
		return fmt.Errorf("memstore: %T.BookmarkInterval must not be negative, got %v", o, o.BookmarkInterval)
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.HistorySize == 0 {
		o.HistorySize = defaultHistorySize
	}
	if o.WatchBuffer == 0 {
		o.WatchBuffer = defaultWatchBuffer
	}
	return o
}
