package memstore

import (
	"context"
	"fmt"
	"iter"
	"math"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/controlloop/controlloop"
)

// Store is a versioned, in-memory set of objects of type T that serves List
// and Watch like a small API server. It implements
// [controlloop.ListerWatcher] and [controlloop.Client].
//
// T must be a pointer type whose GetObjectMeta returns the object's own
// metadata, such as *Pod where Pod embeds [controlloop.ObjectMeta].
//
// The zero Store is an empty store with the defaults of New(Options{}); it
// sets itself up on its first write or watch. A zero Store of a T that New
// refuses (not a pointer type, or not copyable: see Isolation in the package
// doc) is empty and refuses every write with the error New would return. A Store must not be copied after first use. All its methods are
// safe for concurrent use. Writes take an exclusive lock for O(1) work plus
// a non-blocking nudge to each open watcher; reads and watchers copy objects
// outside the lock.
type Store[T controlloop.Object] struct {
	// setUp is set once opts, clone, typeErr and the maps are: by New, or
	// by the first write or watch of a zero Store (under mu). The first
	// three are read without the lock only after setUp is seen true.
	setUp atomic.Bool
	opts  Options
	clone func(T) (T, error)
	// typeErr, set up with them, is why T cannot be stored (it is not a
	// pointer type, or has no DeepCopy method and cannot be copied by
	// reflection), or nil.
	typeErr error

	mu sync.RWMutex // protects the fields below
	// rv is the version of the latest write: the store's current version.
	rv      uint64
	objects map[controlloop.Key]stored[T]
	// order keeps the keys of objects sorted for lists (see keyOrder).
	order keyOrder
	hist  history[T]
	// watchers are the open watches that writes must nudge.
	watchers map[*watcher[T]]struct{}
	// snapshots are sorted copies of the object set at a version, kept for
	// the continue tokens of paged lists; newest last.
	snapshots []*snapshot[T]
	// unavailable, if set, fails every List and Watch (SetUnavailable).
	unavailable error

	faultMu sync.Mutex // protects failList and failWatch
	// failList and failWatch, if set, are returned by the next List or
	// Watch call.
	failList, failWatch error
}

// stored is an object held by the store with its version as a number.
// Stored objects are never modified: a write replaces them.
type stored[T controlloop.Object] struct {
	obj T
	rv  uint64
}

// New returns an empty store at version 0. It fails if opts is invalid, if
// T is not a pointer type (the store stamps versions through GetObjectMeta,
// which must reach the object itself), or if T has no DeepCopy method and
// reflection cannot copy it faithfully (see Isolation in the package doc):
// the error names the field in the way.
func New[T controlloop.Object](opts Options) (*Store[T], error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	s := new(Store[T])
	s.configure(opts)
	if s.typeErr != nil {
		return nil, s.typeErr
	}
	return s, nil
}

// configure sets s up as opts say. s must not be shared yet, or s.mu must
// be held.
func (s *Store[T]) configure(opts Options) {
	t := reflect.TypeFor[T]()
	var err error
	s.clone, err = clonerFor[T]()
	switch {
	case t.Kind() != reflect.Pointer:
		s.typeErr = invalid("type parameter T", t, "must be a pointer type, not a "+t.Kind().String())
	case err != nil:
		s.typeErr = invalid("type parameter T", t, fmt.Sprintf("reflection cannot copy it faithfully (%v): give it a method DeepCopy() %v", err, t))
	}
	s.opts = opts.withDefaults()
	s.objects = make(map[controlloop.Key]stored[T])
	s.hist = history[T]{size: s.opts.HistorySize, limit: s.opts.MaxWatchLag}
	s.watchers = make(map[*watcher[T]]struct{})
	s.setUp.Store(true)
}

// init sets up a zero Store on its first write or watch; afterwards it
// costs one atomic load. Reads need no set-up: a zero Store is empty.
func (s *Store[T]) init() {
	if !s.setUp.Load() {
		s.initSlow()
	}
}

func (s *Store[T]) initSlow() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.setUp.Load() {
		s.configure(Options{})
	}
}

// ResourceVersion returns the store's current version: that of its latest
// write, "0" for a new store.
func (s *Store[T]) ResourceVersion() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return formatRV(s.rv)
}

// Len returns the number of objects in the store.
func (s *Store[T]) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.objects)
}

// All returns the objects in the store, in key order, as copies. The
// sequence reads the store at one version, taken when iteration starts; it
// holds no lock while it yields.
func (s *Store[T]) All() iter.Seq2[controlloop.Key, T] {
	return func(yield func(controlloop.Key, T) bool) {
		items := s.snapshotNow(controlloop.Selector{}).items
		for _, it := range items {
			if !yield(it.key, s.copyOut(it.obj)) {
				return
			}
		}
	}
}

// Get returns a copy of the object with the key, or an error wrapping
// [controlloop.ErrNotFound].
func (s *Store[T]) Get(ctx context.Context, key controlloop.Key) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	if err := key.Validate(); err != nil {
		return zero, fmt.Errorf("memstore: get: %w", err)
	}
	s.mu.RLock()
	st, ok := s.objects[key]
	s.mu.RUnlock()
	if !ok {
		return zero, fmt.Errorf("memstore: get %v: %w", key, controlloop.ErrNotFound)
	}
	return s.copyOut(st.obj), nil
}

// Create stores a copy of obj as a new object and returns a copy of what it
// stored: with a new resource version, a UID ("uid-" and the creation
// version, unique within the store) and Generation 1. It fails with
// [controlloop.ErrAlreadyExists] if the key is taken, and with
// [controlloop.ErrInvalid] for a nil object, an invalid key, or an object
// that already carries a resource version.
func (s *Store[T]) Create(ctx context.Context, obj T) (T, error) {
	return s.create(ctx, obj, nil)
}

func (s *Store[T]) create(ctx context.Context, obj T, g Guard) (T, error) {
	var zero T
	s.init()
	if err := s.checkWrite(ctx, "create", obj); err != nil {
		return zero, err
	}
	key := controlloop.KeyOf(obj)
	if rv := obj.GetResourceVersion(); rv != "" {
		return zero, fmt.Errorf("memstore: create %v: %w: resource version must be empty, is %q", key, controlloop.ErrInvalid, rv)
	}
	c, err := s.copyIn("create", obj)
	if err != nil {
		return zero, err
	}
	meta := c.GetObjectMeta()

	s.mu.Lock()
	if _, ok := s.objects[key]; ok {
		s.mu.Unlock()
		return zero, fmt.Errorf("memstore: create %v: %w", key, controlloop.ErrAlreadyExists)
	}
	rv := s.rv + 1
	meta.ResourceVersion = formatRV(rv)
	meta.UID = "uid-" + meta.ResourceVersion
	meta.Generation = 1
	err = s.lockedCommitGuarded(ctx, g, change[T]{rv: rv, typ: controlloop.Added, obj: c}, key)
	s.mu.Unlock()
	if err != nil {
		return zero, err
	}
	return s.copyOut(c), nil
}

// Update replaces the stored object with a copy of obj and increases its
// Generation by one. obj must carry the resource version it was read at: a
// different stored version fails with [controlloop.ErrConflict], as does a
// UID that is set and differs from the stored one. An empty resource version
// is refused with [controlloop.ErrInvalid] rather than taken as an
// unconditional write, so that no update can silently overwrite one it never
// saw. A missing object fails with [controlloop.ErrNotFound]. Every
// successful update makes a new version, even if nothing changed.
func (s *Store[T]) Update(ctx context.Context, obj T) (T, error) {
	return s.update(ctx, "update", obj, true, nil)
}

// UpdateStatus is [Store.Update] that keeps the stored Generation. The whole
// object is replaced: the store does not know which fields are status.
func (s *Store[T]) UpdateStatus(ctx context.Context, obj T) (T, error) {
	return s.update(ctx, "update status", obj, false, nil)
}

func (s *Store[T]) update(ctx context.Context, op string, obj T, bumpGeneration bool, g Guard) (T, error) {
	var zero T
	s.init()
	if err := s.checkWrite(ctx, op, obj); err != nil {
		return zero, err
	}
	key := controlloop.KeyOf(obj)
	want := obj.GetResourceVersion()
	if want == "" {
		return zero, fmt.Errorf("memstore: %s %v: %w: empty resource version (read the object first)", op, key, controlloop.ErrInvalid)
	}
	c, err := s.copyIn(op, obj)
	if err != nil {
		return zero, err
	}
	meta := c.GetObjectMeta()

	s.mu.Lock()
	old, ok := s.objects[key]
	if !ok {
		s.mu.Unlock()
		return zero, fmt.Errorf("memstore: %s %v: %w", op, key, controlloop.ErrNotFound)
	}
	oldMeta := old.obj.GetObjectMeta()
	if want != oldMeta.ResourceVersion {
		s.mu.Unlock()
		return zero, fmt.Errorf("memstore: %s %v: %w: version %s, stored %s", op, key, controlloop.ErrConflict, want, oldMeta.ResourceVersion)
	}
	if meta.UID != "" && meta.UID != oldMeta.UID {
		s.mu.Unlock()
		return zero, fmt.Errorf("memstore: %s %v: %w: UID %s, stored %s", op, key, controlloop.ErrConflict, meta.UID, oldMeta.UID)
	}
	rv := s.rv + 1
	meta.ResourceVersion = formatRV(rv)
	meta.UID = oldMeta.UID
	meta.Generation = oldMeta.Generation
	if bumpGeneration {
		meta.Generation++
	}
	err = s.lockedCommitGuarded(ctx, g, change[T]{rv: rv, typ: controlloop.Modified, obj: c, prev: old.obj}, key)
	s.mu.Unlock()
	if err != nil {
		return zero, err
	}
	return s.copyOut(c), nil
}

// Delete removes the object with the key. It fails with
// [controlloop.ErrNotFound] if there is none, and with
// [controlloop.ErrConflict] if opts.ResourceVersion is set and differs from
// the stored version. The Deleted event carries the object's last state
// stamped with the delete's version.
func (s *Store[T]) Delete(ctx context.Context, key controlloop.Key, opts controlloop.DeleteOptions) error {
	return s.delete(ctx, key, opts, nil)
}

func (s *Store[T]) delete(ctx context.Context, key controlloop.Key, opts controlloop.DeleteOptions, g Guard) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := key.Validate(); err != nil {
		return fmt.Errorf("memstore: delete: %w", err)
	}
	s.init()
	if s.typeErr != nil {
		return s.typeErr
	}
	s.mu.Lock()
	old, ok := s.objects[key]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("memstore: delete %v: %w", key, controlloop.ErrNotFound)
	}
	if opts.ResourceVersion != "" && opts.ResourceVersion != old.obj.GetResourceVersion() {
		s.mu.Unlock()
		return fmt.Errorf("memstore: delete %v: %w: version %s, stored %s", key, controlloop.ErrConflict, opts.ResourceVersion, old.obj.GetResourceVersion())
	}
	rv := s.rv + 1
	// The stored object is shared with history and snapshots: stamp a copy.
	last := s.copyOut(old.obj)
	last.GetObjectMeta().ResourceVersion = formatRV(rv)
	err := s.lockedCommitGuarded(ctx, g, change[T]{rv: rv, typ: controlloop.Deleted, obj: last, prev: old.obj}, key)
	s.mu.Unlock()
	return err
}

// lockedCommit applies c, whose version is s.rv+1, to the object set and the
// history, and nudges every watcher.
func (s *Store[T]) lockedCommit(c change[T], key controlloop.Key) {
	s.rv = c.rv
	switch c.typ {
	case controlloop.Added:
		s.objects[key] = stored[T]{obj: c.obj, rv: c.rv}
		s.order.lockedAdd(key, len(s.objects))
	case controlloop.Modified:
		s.objects[key] = stored[T]{obj: c.obj, rv: c.rv}
	case controlloop.Deleted:
		delete(s.objects, key)
		s.order.lockedDelete()
	}
	need := uint64(math.MaxUint64) // the next change the slowest watcher delivers
	for w := range s.watchers {
		need = min(need, w.next.Load())
	}
	s.hist.push(c, need)
	if len(s.watchers) == 0 {
		return
	}
	oldest, _ := s.hist.oldest()
	for w := range s.watchers {
		w.lockedNudge(s, oldest)
	}
}

// checkWrite rejects a write whose context is done or whose object is
// unusable, and every write to a store of a T it cannot hold.
func (s *Store[T]) checkWrite(ctx context.Context, op string, obj T) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.typeErr != nil {
		return s.typeErr
	}
	if err := controlloop.Validate(obj); err != nil {
		return fmt.Errorf("memstore: %s: %w", op, err)
	}
	if obj.GetObjectMeta() == nil {
		return fmt.Errorf("memstore: %s %v: %w: GetObjectMeta returned nil", op, controlloop.KeyOf(obj), controlloop.ErrInvalid)
	}
	return nil
}

// copyIn copies obj, which a caller passed to the write op, for the store
// to keep. It fails with [controlloop.ErrInvalid] if obj cannot be copied
// faithfully: it holds a pointer cycle, or an interface whose value
// reflection cannot copy.
func (s *Store[T]) copyIn(op string, obj T) (T, error) {
	if s.opts.Codec != nil {
		return s.decodeIn(op, obj)
	}
	c, err := s.clone(obj)
	if err != nil {
		return c, fmt.Errorf("memstore: %s %v: %w: the object cannot be copied (%v)", op, controlloop.KeyOf(obj), controlloop.ErrInvalid, err)
	}
	return c, nil
}

// decodeIn returns obj, which a caller passed to the write op, encoded and
// decoded by Options.Codec into a new T, with obj's key. It fails with
// [controlloop.ErrInvalid] if the codec fails.
func (s *Store[T]) decodeIn(op string, obj T) (T, error) {
	var zero T
	key := controlloop.KeyOf(obj)
	data, err := s.opts.Codec.Encode(obj)
	if err != nil {
		return zero, fmt.Errorf("memstore: %s %v: %w: Options.Codec cannot encode the object: %w", op, key, controlloop.ErrInvalid, err)
	}
	c := reflect.New(reflect.TypeFor[T]().Elem()).Interface().(T)
	if err := s.opts.Codec.Decode(data, c); err != nil {
		return zero, fmt.Errorf("memstore: %s %v: %w: Options.Codec cannot decode what it encoded: %w", op, key, controlloop.ErrInvalid, err)
	}
	meta := c.GetObjectMeta()
	if meta == nil {
		return zero, fmt.Errorf("memstore: %s %v: %w: GetObjectMeta of a decoded object returned nil", op, key, controlloop.ErrInvalid)
	}
	meta.Namespace, meta.Name = key.Namespace, key.Name
	return c, nil
}

// copyOut copies obj, which the store holds, for a caller. It cannot fail:
// obj is a copy that copyIn made, so it holds no cycle and every type in it
// has been checked.
func (s *Store[T]) copyOut(obj T) T {
	c, err := s.clone(obj)
	if err != nil {
		panic("memstore: copying a stored object failed: " + err.Error())
	}
	return c
}

// formatRV renders a version as the store's resource version string.
func formatRV(rv uint64) string { return strconv.FormatUint(rv, 10) }

// parseRV reads a resource version string made by formatRV, refusing any
// other spelling of a number ("+1", "01").
func parseRV(s string) (uint64, error) {
	rv, err := strconv.ParseUint(s, 10, 64)
	// formatRV's spelling only: ParseUint takes no sign, so a leading zero
	// is all it accepts that formatRV would not write (checked without
	// formatting, which allocates).
	if err != nil || len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("memstore: %w: resource version %q is not a decimal number", controlloop.ErrInvalid, s)
	}
	return rv, nil
}
