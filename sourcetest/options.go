package sourcetest

import (
	"context"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/controlloop/controlloop"
)

// Backend is what the suite checks: a source that readers list and watch
// and that writers write through, as package memstore's Store and the etcd
// module's Source are.
type Backend[T controlloop.Object] interface {
	controlloop.Client[T]
	controlloop.Watcher[T]
}

// Options say how to make the backend under test and what it declares about
// itself. Only New is required; every other zero field means its documented
// default.
type Options[T controlloop.Object] struct {
	// New returns a new, empty backend. The suite calls it once for every
	// rule and every random sequence it checks, so it should be cheap: a
	// new key prefix or table on one shared server, not a new server.
	// Required.
	New func() (Backend[T], error)
	// NewObject returns a new object of T with the key and no version, for
	// the suite to write; the suite sets its labels. Defaults to the zero
	// value of the struct T points to, with the key set (T must then be a
	// pointer to a struct).
	NewObject func(key controlloop.Key) T
	// Compact, if set, discards the history of b before rv, the version of
	// a write (etcd's compaction at rv's revision; memstore's Store.Compact,
	// which discards rv's own change too): afterwards a watch from a version
	// older than the last change before rv, and a continue token of a list
	// read before rv, must fail with [controlloop.ErrExpired], while a watch
	// from rv must still work. Defaults to nil: the rules of expiry are not
	// checked.
	Compact func(ctx context.Context, b Backend[T], rv string) error
	// Progress, if set, asks b to send soon a Bookmark to every open watch
	// of b that allows bookmarks, at a version it has delivered every
	// change up to (etcd's RequestProgress); a backend may skip a watch
	// whose version has not moved since its last event, as etcd's Source
	// and memstore do (the rules ask only where it has). The suite calls it again while
	// it waits for a bookmark, as a backend may ignore a request it cannot
	// answer yet. Defaults to nil: bookmarks are not asked for, and the
	// rule that a resumed watch loses nothing after a bookmark is not
	// checked.
	Progress func(ctx context.Context, b Backend[T]) error
	// Order is the order in which List returns objects: a strict total
	// order on keys. Defaults to [KeyOrder]; a backend that orders by the
	// string "namespace/name" declares [PathOrder].
	Order func(a, b controlloop.Key) int
	// Differences declares what the backend does not keep of a written
	// object. The round-trip rule checks that exactly these differences
	// appear: a declared difference that does not happen fails too.
	// Defaults to none: every object reads back as written.
	Differences Differences
	// Samples are objects the round-trip rule writes and reads back, with
	// the keys they carry (each must be distinct and valid, with no
	// version). The suite also writes objects of its own that vary only
	// the metadata. Defaults to [ObjectSamples] when T is *[Object], none
	// otherwise.
	Samples []T
	// Sequences is how many random sequences of writes the model rule
	// runs against a new backend each. Defaults to 20.
	Sequences int
	// Timeout bounds each rule, including every wait for an event.
	// Defaults to 30s.
	Timeout time.Duration
}

// Differences are the known ways in which a backend does not store an
// object as it was written: typically those of encoding it (the etcd
// module's JSON codec has the first three). Each one is a rule of its own
// for the round-trip check, not an exemption: it must happen.
type Differences struct {
	// UnexportedFieldsDropped: unexported struct fields read back as their
	// zero value (time.Time values are kept whole).
	UnexportedFieldsDropped bool
	// EmptyMapsBecomeNil: a map that is empty but not nil reads back as
	// nil.
	EmptyMapsBecomeNil bool
	// EmptySlicesBecomeNil: a slice that is empty but not nil reads back as
	// nil.
	EmptySlicesBecomeNil bool
	// ValueLimit is the size in bytes of the largest label value that the
	// backend keeps: the round-trip rule writes one of this size. Must not
	// be negative. Defaults to 1 MiB (1 << 20), below etcd's default
	// request limit of 1.5 MiB.
	ValueLimit int
}

const (
	defaultSequences  = 20
	defaultTimeout    = 30 * time.Second
	defaultValueLimit = 1 << 20
)

func (o Options[T]) validate() error {
	switch {
	case o.New == nil:
		return invalid("Options.New", "nil", "must make a backend")
	case o.Sequences < 0:
		return invalid("Options.Sequences", o.Sequences, "must not be negative")
	case o.Timeout < 0:
		return invalid("Options.Timeout", o.Timeout, "must not be negative")
	case o.Differences.ValueLimit < 0:
		return invalid("Options.Differences.ValueLimit", o.Differences.ValueLimit, "must not be negative")
	}
	if o.NewObject == nil {
		if t := reflect.TypeFor[T](); t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
			return invalid("Options.NewObject", "nil", "must make objects, as "+t.String()+" is not a pointer to a struct")
		}
	}
	seen := make(map[controlloop.Key]bool)
	for i, obj := range o.Samples {
		if err := controlloop.Validate(obj); err != nil {
			return invalid("Options.Samples["+strconv.Itoa(i)+"]", controlloop.KeyOf(obj), "must be a valid object ("+err.Error()+")")
		}
		k := controlloop.KeyOf(obj)
		if seen[k] {
			return invalid("Options.Samples["+strconv.Itoa(i)+"]", k, "must have a key of its own")
		}
		seen[k] = true
		if rv := obj.GetResourceVersion(); rv != "" {
			return invalid("Options.Samples["+strconv.Itoa(i)+"]", k, "must carry no resource version, carries "+rv)
		}
	}
	return nil
}

func (o Options[T]) withDefaults() Options[T] {
	if o.NewObject == nil {
		elem := reflect.TypeFor[T]().Elem()
		o.NewObject = func(key controlloop.Key) T {
			obj := reflect.New(elem).Interface().(T)
			meta := obj.GetObjectMeta()
			meta.Namespace, meta.Name = key.Namespace, key.Name
			return obj
		}
	}
	if o.Order == nil {
		o.Order = KeyOrder
	}
	if o.Samples == nil {
		if samples, ok := any(ObjectSamples()).([]T); ok {
			o.Samples = samples
		}
	}
	if o.Sequences == 0 {
		o.Sequences = defaultSequences
	}
	if o.Timeout == 0 {
		o.Timeout = defaultTimeout
	}
	if o.Differences.ValueLimit == 0 {
		o.Differences.ValueLimit = defaultValueLimit
	}
	return o
}

// KeyOrder orders keys by namespace, then by name, comparing bytes: the
// order of package memstore's lists. It returns -1, 0 or +1.
func KeyOrder(a, b controlloop.Key) int {
	if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
		return c
	}
	return strings.Compare(a.Name, b.Name)
}

// PathOrder orders keys by the bytes of "namespace/name": the order of
// the etcd module's lists, whose keys end so. It differs from [KeyOrder]
// where one namespace begins another and goes on with a byte below '/'
// ("a" and "a-b": "a-b/x" sorts before "a/x"). It returns -1, 0 or +1.
func PathOrder(a, b controlloop.Key) int {
	return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
}
