package etcd

import (
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// Options configure a [Source].
type Options struct {
	// Prefix is where the objects live: an object is stored under
	// <Prefix>/<namespace>/<name> (<Prefix>//<name> without a namespace).
	// Give each object type its own prefix; no other keys may live under
	// it. A trailing "/" is ignored. Required: there is no default, so that
	// two programs cannot share a prefix by accident.
	Prefix string
	// Codec encodes objects into etcd values. Defaults to [JSON].
	Codec Codec
	// Logger receives the source's logs: each value that List or a watch
	// skips, at Warn, with its key. Defaults to [slog.Default].
	Logger *slog.Logger
	// OnDecodeError, if set, is called with the key and the error (wrapping
	// [ErrDecode]) of each value that List or a watch skips because it
	// cannot be decoded or its key is malformed: count them, or raise an
	// alarm. It is called from the goroutine of the List or the watch,
	// which waits for it. Defaults to none: skipped values are only logged.
	OnDecodeError func(key string, err error)
	// Metrics, if set, counts the skipped values too (see [Metrics]).
	// Defaults to none.
	Metrics *Metrics
	// UnavailableAfter bounds how long a watch stays silent on an etcd it
	// cannot reach: a watch that has heard nothing from etcd for this long
	// reads one key of its range, within the same time, and ends with an
	// Error event wrapping [ErrUnavailable] if that fails, so a lost
	// connection shows within about twice this. It also bounds the
	// version check of each Watch call. Defaults to 10s; must not be
	// negative.
	UnavailableAfter time.Duration
}

// defaultUnavailableAfter is Options.UnavailableAfter's default.
const defaultUnavailableAfter = 10 * time.Second

func (o Options) validate() error {
	if o.UnavailableAfter < 0 {
		return invalid("Options.UnavailableAfter", o.UnavailableAfter, "must not be negative")
	}
	return checkPrefix("Options", o.Prefix)
}

// checkPrefix checks the Prefix field of the options type typ: a key
// prefix, of which a trailing "/" is ignored.
func checkPrefix(typ, prefix string) error {
	p := strings.TrimRight(prefix, "/")
	switch {
	case p == "":
		return invalid(typ+".Prefix", strconv.Quote(prefix), "must name a key prefix (not empty, not only slashes)")
	case strings.ContainsRune(p, 0):
		return invalid(typ+".Prefix", strconv.Quote(prefix), "must not contain a NUL byte")
	}
	return nil
}

func (o Options) withDefaults() Options {
	o.Prefix = strings.TrimRight(o.Prefix, "/")
	if o.Codec == nil {
		o.Codec = JSON{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.UnavailableAfter == 0 {
		o.UnavailableAfter = defaultUnavailableAfter
	}
	return o
}
