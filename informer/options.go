package informer

import (
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/indexer"
	"github.com/controlloop/controlloop/reflector"
)

// Options configure an [Informer].
type Options[T controlloop.Object] struct {
	// Reflector configures how the source is listed and watched: selector,
	// page size, backoff, watch error handler. Its ResyncPeriod must be
	// zero: resync periods are per handler ([HandlerOptions.ResyncPeriod]),
	// and [New] refuses a set one rather than ignore it. Defaults to the
	// reflector's defaults.
	Reflector reflector.Options
	// Indexers are indexes to keep besides the namespace index. More can be
	// added before Run with [Informer.AddIndexers]. Defaults to none.
	Indexers indexer.Indexers[T]
	// Transform, if set, is applied once to each object the source delivers,
	// before it is cached, for example to drop fields no handler reads. It
	// must keep the object's key, and must not modify its argument (make a
	// copy). Objects re-delivered from the cache (resyncs, inferred deletes)
	// are not transformed again. Defaults to nil.
	Transform func(T) (T, error)
	// Logger receives the informer's logs. Defaults to slog.Default().
	Logger *slog.Logger
	// Name identifies the informer in metrics; it must be valid UTF-8, as
	// metric label values are. Defaults to T's type and, when set, the
	// selector: "*main.Pod", or "*main.Pod namespace=default labels=app=web".
	Name string
	// Metrics, if set, receives the informer's metrics: its failures as
	// they happen (Reflector.WatchErrorHandler, if set, still sees them
	// too), and its [Health] when the provider asks. It must not be a nil
	// pointer. Defaults to nil: no metrics.
	Metrics MetricsProvider
	// MutationDetector, if true, keeps a private copy of every cached
	// object and logs at Error, with the key and the field path, the first
	// modification of a cached object it finds: when the informer replaces
	// or deletes the object, and when Run returns. It doubles the cache's
	// memory and copies every object delivered: meant for tests and CI.
	// Setting [MutationDetectorEnv] to "1" turns it on for every informer.
	// Defaults to false.
	MutationDetector bool
	// Copy returns a private, deep copy of an object, for the mutation
	// detector. Defaults to T's DeepCopy method; [New] refuses a detector
	// for a T without one unless Copy is set.
	Copy func(T) T
}

// validate reports the first field of o that breaks its rule. The
// reflector's and the indexer's own fields are checked by their
// constructors.
func (o *Options[T]) validate() error {
	switch {
	case o.Reflector.ResyncPeriod != 0:
		return errOption("Options.Reflector.ResyncPeriod", o.Reflector.ResyncPeriod,
			"must be zero: an informer resyncs per handler, set HandlerOptions.ResyncPeriod in AddHandler instead")
	case !utf8.ValidString(o.Name):
		return errOption("Options.Name", strconv.Quote(o.Name), "must be valid UTF-8")
	case o.Metrics != nil && isNil(o.Metrics):
		return errOption("Options.Metrics", fmt.Sprintf("%T(nil)", o.Metrics), "must not be a nil pointer")
	}
	return nil
}

// name returns o.Name, or the default name of an informer of T.
func (o *Options[T]) name() string {
	if o.Name != "" {
		return o.Name
	}
	name := reflect.TypeFor[T]().String()
	if sel := o.Reflector.Selector; sel.Namespace != "" {
		name += " namespace=" + sel.Namespace
	}
	if labels := o.Reflector.Selector.Labels; len(labels) > 0 {
		name += " labels=" + labelString(labels)
	}
	return name
}

// labelString spells labels as k=v pairs in key order, joined by commas.
func labelString(labels map[string]string) string {
	pairs := make([]string, 0, len(labels))
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		pairs = append(pairs, k+"="+labels[k])
	}
	return strings.Join(pairs, ",")
}

// HandlerOptions configure one handler's registration.
type HandlerOptions struct {
	// ResyncPeriod, if positive, re-delivers every cached object to this
	// handler this often, as an update with old and new the same. Defaults
	// to 0: no resync.
	ResyncPeriod time.Duration
	// ResyncOnRelist, if true, re-delivers to this handler every object a
	// relist finds (after a watch expired or failed), as an update with old
	// and new the same version when the object had not changed, so that a
	// handler can treat a relist as a resync: a change it missed, or failed
	// to act on, is looked at again. Defaults to false: a relist delivers
	// only what changed, and the deletions it infers.
	ResyncOnRelist bool
	// MaxBuffer, if positive, bounds the notifications waiting for this
	// handler. When the buffer is full, the informer waits for the handler
	// before it processes more changes (the cache stays at most one batch,
	// the keys queued when it was popped, ahead of the handler): the
	// handler's memory stays bounded, at the price
	// of a slow handler slowing the cache and every other handler. Defaults
	// to 0: unbounded, so a slow handler delays no one (watch Pending).
	// The informer waits for room holding no lock that a handler's call
	// needs, so the handler may call
	// any method of the informer or of a registration meanwhile. The
	// initial list of a handler added while the informer runs is buffered
	// whole, beyond MaxBuffer, so that AddHandler never waits for a handler.
	MaxBuffer int
}

// validate reports the first field of o that breaks its rule.
func (o HandlerOptions) validate() error {
	switch {
	case o.ResyncPeriod < 0:
		return errOption("HandlerOptions.ResyncPeriod", o.ResyncPeriod, "must not be negative")
	case o.MaxBuffer < 0:
		return errOption("HandlerOptions.MaxBuffer", o.MaxBuffer, "must not be negative")
	}
	return nil
}
