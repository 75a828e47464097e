package etcd

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/prometheus/client_golang/prometheus"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Source stores objects of type T in etcd under a key prefix and serves
// them as a [controlloop.ListerWatcher] and a [controlloop.Client]. See the
// package documentation for the mapping of versions, errors and selectors.
//
// T must be a pointer to a struct that embeds [controlloop.ObjectMeta] (or
// otherwise holds its metadata by value), such as *Pod.
//
// A Source must be created with [New]; the methods of a nil or zero Source
// fail with an error wrapping [controlloop.ErrInvalid]. All its methods are
// safe for concurrent use; it holds no state besides its configuration, so it may be
// copied through [Source.Fenced] at no cost. It does not own the client:
// close the client when done.
type Source[T controlloop.Object] struct {
	client *clientv3.Client
	prefix string // without a trailing "/"
	codec  Codec
	elem   reflect.Type // the struct type T points to
	log    *slog.Logger
	// onDecodeError is Options.OnDecodeError.
	onDecodeError    func(key string, err error)
	undecodable      prometheus.Counter // of Options.Metrics; nil without
	unavailableAfter time.Duration
	// stream is the value of the metadata that puts the source's watches
	// on a gRPC stream of their own (see watchContext).
	stream string
	// fenced says that fence guards every write (see Source.Fenced and
	// Source.ShardFenced).
	fenced bool
	fence  fencer
}

// A fencer makes writes conditional: condition returns the comparison
// that fences a write made under ctx, and refused the error the write
// fails with if etcd finds the comparison false.
type fencer interface {
	condition(ctx context.Context) (cmp clientv3.Cmp, refused func() error, err error)
}

var (
	_ controlloop.ListerWatcher[*probe] = (*Source[*probe])(nil)
	_ controlloop.Client[*probe]        = (*Source[*probe])(nil)
)

type probe struct{ controlloop.ObjectMeta }

// New returns a source of objects of type T stored through client under
// opts.Prefix. It makes no request. It fails with an error wrapping
// [controlloop.ErrInvalid] if client is nil, opts is invalid, or T is not a
// pointer to a struct whose metadata is held by value.
func New[T controlloop.Object](client *clientv3.Client, opts Options) (*Source[T], error) {
	if client == nil {
		return nil, fmt.Errorf("etcd: New: nil client: %w", controlloop.ErrInvalid)
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	t := reflect.TypeFor[T]()
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("etcd: New: type parameter %v: must be a pointer to a struct: %w", t, controlloop.ErrInvalid)
	}
	s := &Source[T]{client: client, prefix: opts.Prefix, codec: opts.Codec, elem: t.Elem(),
		log: opts.Logger, onDecodeError: opts.OnDecodeError, unavailableAfter: opts.UnavailableAfter,
		stream: rand.Text(),
	}
	if opts.Metrics != nil {
		s.undecodable = opts.Metrics.undecodable.WithLabelValues(opts.Prefix)
	}
	// The source writes Generation on a shallow copy of the caller's
	// object: the metadata must be part of the struct, not behind a pointer.
	a := s.newObject()
	if a.GetObjectMeta() == nil {
		return nil, fmt.Errorf("etcd: New: type parameter %v: GetObjectMeta must not return nil on a zero value: %w", t, controlloop.ErrInvalid)
	}
	if b := s.shallowCopy(a); b.GetObjectMeta() == a.GetObjectMeta() {
		return nil, fmt.Errorf("etcd: New: type parameter %v: must hold its ObjectMeta by value (embed it), not behind a pointer: %w", t, controlloop.ErrInvalid)
	}
	return s, nil
}

// usable reports errZeroSource if s was not made by New.
func (s *Source[T]) usable() error {
	if s == nil || s.client == nil {
		return errZeroSource
	}
	return nil
}

// Prefix returns the key prefix, without a trailing "/".
func (s *Source[T]) Prefix() string { return s.prefix }

// Key returns the etcd key under which the object with key k is stored.
func (s *Source[T]) Key(k controlloop.Key) string {
	return s.prefix + "/" + k.Namespace + "/" + k.Name
}

// rangeFor returns the key range [start, end) that holds the objects of
// namespace ns, or all objects if ns is empty.
func (s *Source[T]) rangeFor(ns string) (start, end string) {
	start = s.prefix + "/"
	if ns != "" {
		start += ns + "/"
	}
	return start, clientv3.GetPrefixRangeEnd(start)
}

// parseKey reverses Key.
func (s *Source[T]) parseKey(key []byte) (controlloop.Key, error) {
	rest, ok := strings.CutPrefix(string(key), s.prefix+"/")
	if !ok {
		return controlloop.Key{}, fmt.Errorf("%w: key %q is outside prefix %q", ErrDecode, key, s.prefix)
	}
	ns, name, ok := strings.Cut(rest, "/")
	k := controlloop.Key{Namespace: ns, Name: name}
	if !ok || k.Validate() != nil {
		return controlloop.Key{}, fmt.Errorf("%w: key %q is not <prefix>/<namespace>/<name>", ErrDecode, key)
	}
	return k, nil
}

func (s *Source[T]) newObject() T {
	return reflect.New(s.elem).Interface().(T)
}

func (s *Source[T]) shallowCopy(obj T) T {
	p := reflect.New(s.elem)
	p.Elem().Set(reflect.ValueOf(obj).Elem())
	return p.Interface().(T)
}

// decode returns a fresh object from kv: the codec's decoding of its value,
// with the key's namespace and name, the mod revision as resource version
// and the create revision as UID.
func (s *Source[T]) decode(kv *mvccpb.KeyValue) (T, error) {
	var zero T
	k, err := s.parseKey(kv.Key)
	if err != nil {
		return zero, err
	}
	obj := s.newObject()
	if err := s.codec.Decode(kv.Value, obj); err != nil {
		return zero, fmt.Errorf("%w: key %q: %w", ErrDecode, kv.Key, err)
	}
	meta := obj.GetObjectMeta()
	if meta == nil {
		return zero, fmt.Errorf("%w: key %q: GetObjectMeta returned nil", ErrDecode, kv.Key)
	}
	meta.Namespace, meta.Name = k.Namespace, k.Name
	meta.ResourceVersion = formatRev(kv.ModRevision)
	meta.UID = uidOf(kv.CreateRevision)
	return obj, nil
}

// skip reports a value that a List or a watch (op) leaves out because
// decoding it failed with err: a log line at Warn, OnDecodeError and the
// metric.
func (s *Source[T]) skip(op string, key []byte, err error) {
	s.log.Warn("etcd: skipping an undecodable value", "op", op, "key", string(key), "err", err)
	if s.undecodable != nil {
		s.undecodable.Inc()
	}
	if s.onDecodeError != nil {
		s.onDecodeError(string(key), err)
	}
}

// encode returns the stored form of obj with the given generation: the
// store-owned ResourceVersion and UID are left out, as reads derive them.
// obj is not modified.
func (s *Source[T]) encode(obj T, generation int64) ([]byte, error) {
	c := s.shallowCopy(obj)
	meta := c.GetObjectMeta()
	meta.ResourceVersion, meta.UID, meta.Generation = "", "", generation
	data, err := s.codec.Encode(c)
	if err != nil {
		return nil, fmt.Errorf("etcd: %w: encode %v: %w", controlloop.ErrInvalid, controlloop.KeyOf(obj), err)
	}
	return data, nil
}

// checkObject rejects an unusable object before a write.
func (s *Source[T]) checkObject(ctx context.Context, op string, obj T) error {
	if err := s.usable(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := controlloop.Validate(obj); err != nil {
		return fmt.Errorf("etcd: %s: %w", op, err)
	}
	if obj.GetObjectMeta() == nil {
		return fmt.Errorf("etcd: %s %v: %w: GetObjectMeta returned nil", op, controlloop.KeyOf(obj), controlloop.ErrInvalid)
	}
	return nil
}

// checkSelector rejects a selector that no key can match.
func checkSelector(sel controlloop.Selector) error {
	if strings.Contains(sel.Namespace, "/") {
		return fmt.Errorf("%w: namespace %q contains '/'", controlloop.ErrInvalid, sel.Namespace)
	}
	return nil
}

func formatRev(rev int64) string { return strconv.FormatInt(rev, 10) }

// parseRev reads a resource version: a positive decimal etcd revision.
func parseRev(s string) (int64, error) {
	rev, err := strconv.ParseInt(s, 10, 64)
	if err != nil || rev <= 0 {
		return 0, fmt.Errorf("%w: resource version %q is not a positive decimal etcd revision", controlloop.ErrInvalid, s)
	}
	return rev, nil
}

// uidOf returns the UID of an object created at revision rev: unique in
// the cluster, as no two keys are created at one revision by this package.
func uidOf(createRev int64) string { return "uid-" + formatRev(createRev) }
