package memstore

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"

	"github.com/controlloop/controlloop"
)

// snapshot is the object set at one version, sorted by key: all of it, or
// only one namespace's objects if namespace is set. Its objects are stored
// objects: shared and never modified.
type snapshot[T controlloop.Object] struct {
	rv        uint64
	namespace string
	items     []snapItem[T]
}

type snapItem[T controlloop.Object] struct {
	key controlloop.Key
	obj T
}

func compareItems[T controlloop.Object](a, b snapItem[T]) int { return compareKeys(a.key, b.key) }

func compareKeys(a, b controlloop.Key) int {
	if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
		return c
	}
	return strings.Compare(a.Name, b.Name)
}

// List returns copies of the objects opts selects, in key order, read at
// the store's current version, which the result carries.
//
// With opts.Limit set, List returns at most that many objects and a
// continue token when more remain. Every page of one list is read at the
// version of the first, whatever was written since; a token whose version
// has left the history window fails with [controlloop.ErrExpired]. Pass the
// same Selector with every page: a token from another namespace fails with
// [controlloop.ErrInvalid], as do a negative limit, a malformed token and a
// namespace that cannot exist.
//
// Cost: O(n) for n stored objects on the first page of a list, O(k) if the
// selector names a namespace of k objects, plus
// O(a log a) for a objects created since the last list: the store keeps its
// keys sorted between lists. Each further page costs O(log n + limit) while
// its snapshot is cached (a few are; a first page at an unchanged version
// reuses one too), O(n log n + h) for h changes since its version otherwise.
func (s *Store[T]) List(ctx context.Context, opts controlloop.ListOptions) (controlloop.ListResult[T], error) {
	var res controlloop.ListResult[T]
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if err := checkSelector(opts.Selector); err != nil {
		return res, fmt.Errorf("memstore: list: %w", err)
	}
	if opts.Limit < 0 {
		return res, fmt.Errorf("memstore: list: %w: negative limit %d", controlloop.ErrInvalid, opts.Limit)
	}
	var tok token
	if opts.Continue != "" {
		var err error
		if tok, err = parseToken(opts.Continue); err != nil {
			return res, err
		}
		if tok.namespace != opts.Namespace {
			return res, fmt.Errorf("memstore: list: %w: continue token is for namespace %q, selector asks for %q", controlloop.ErrInvalid, tok.namespace, opts.Namespace)
		}
	}

	snap, err := s.snapshotFor(opts, tok)
	if err != nil {
		return res, err
	}
	var after *controlloop.Key
	if opts.Continue != "" {
		after = &tok.after
	}
	items, last, more := s.page(snap.items, opts.Selector, after, opts.Limit)
	res.Items = items
	res.ResourceVersion = formatRV(snap.rv)
	if more {
		res.Continue = token{rv: snap.rv, namespace: opts.Namespace, after: last}.String()
		if opts.Continue == "" {
			s.cacheSnapshot(snap)
		}
	}
	return res, nil
}

// snapshotFor returns the snapshot a list page reads: the current object set
// for a first page, the one at the token's version for later pages.
func (s *Store[T]) snapshotFor(opts controlloop.ListOptions, tok token) (*snapshot[T], error) {
	if err := s.takeFault(&s.failList); err != nil {
		return nil, err
	}
	s.mu.RLock()
	if err := s.unavailable; err != nil {
		s.mu.RUnlock()
		return nil, err
	}
	if opts.Continue == "" {
		sel := opts.Selector
		if opts.Limit > 0 {
			if snap := s.lockedCachedSnapshot(s.rv, opts.Namespace); snap != nil {
				s.mu.RUnlock()
				return snap, nil
			}
			// Keep the whole namespace: later pages, whose tokens are bound
			// to it, may be served from this snapshot; they filter labels.
			sel = controlloop.Selector{Namespace: opts.Namespace}
		}
		snap := s.lockedSnapshotNow(sel)
		s.mu.RUnlock()
		return snap, nil
	}

	if tok.rv > s.rv {
		s.mu.RUnlock()
		return nil, fmt.Errorf("memstore: list: %w: continue token version %d is newer than the store's %d", controlloop.ErrInvalid, tok.rv, s.rv)
	}
	if low := s.lockedOldestValid(); tok.rv < low {
		s.mu.RUnlock()
		return nil, fmt.Errorf("memstore: list: continue at version %d: %w (oldest available is %d)", tok.rv, controlloop.ErrExpired, low)
	}
	if snap := s.lockedCachedSnapshot(tok.rv, tok.namespace); snap != nil {
		s.mu.RUnlock()
		return snap, nil
	}
	snap := s.lockedRebuild(tok.rv)
	s.mu.RUnlock()
	slices.SortFunc(snap.items, compareItems)
	s.cacheSnapshot(snap)
	return snap, nil
}

// snapshotNow returns the objects sel matches at the current version.
func (s *Store[T]) snapshotNow(sel controlloop.Selector) *snapshot[T] {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.lockedSnapshotNow(sel)
}

// lockedSnapshotNow returns the objects sel matches at the current version,
// walking the sorted keys (only those of sel's namespace, if it has one).
func (s *Store[T]) lockedSnapshotNow(sel controlloop.Selector) *snapshot[T] {
	keys := sortedKeys(&s.order, s.objects)
	if sel.Namespace != "" {
		lo, _ := slices.BinarySearchFunc(keys, sel.Namespace, func(k controlloop.Key, ns string) int {
			if c := strings.Compare(k.Namespace, ns); c != 0 {
				return c
			}
			return 1 // land on the first key of the namespace
		})
		hi, _ := slices.BinarySearchFunc(keys, sel.Namespace, func(k controlloop.Key, ns string) int {
			if c := strings.Compare(k.Namespace, ns); c != 0 {
				return c
			}
			return -1 // land after the last key of the namespace
		})
		keys = keys[lo:hi]
	}
	snap := &snapshot[T]{rv: s.rv, namespace: sel.Namespace, items: make([]snapItem[T], 0, len(keys))}
	for _, k := range keys {
		st := s.objects[k]
		if len(sel.Labels) > 0 && !sel.MatchesLabels(st.obj.GetObjectMeta().Labels) {
			continue
		}
		snap.items = append(snap.items, snapItem[T]{key: k, obj: st.obj})
	}
	return snap
}

// lockedCachedSnapshot returns a cached snapshot at version rv that holds
// namespace ns (all namespaces if ns is empty), or nil.
func (s *Store[T]) lockedCachedSnapshot(rv uint64, ns string) *snapshot[T] {
	for _, snap := range s.snapshots {
		if snap.rv == rv && (snap.namespace == "" || snap.namespace == ns) {
			return snap
		}
	}
	return nil
}

// lockedRebuild reconstructs the object set at version rv, which must be
// within the history window: the objects not written since rv, plus the
// state before its first later change of every object changed since.
func (s *Store[T]) lockedRebuild(rv uint64) *snapshot[T] {
	snap := &snapshot[T]{rv: rv, items: make([]snapItem[T], 0, len(s.objects))}
	for k, st := range s.objects {
		if st.rv <= rv {
			snap.items = append(snap.items, snapItem[T]{key: k, obj: st.obj})
		}
	}
	seen := make(map[controlloop.Key]bool)
	for v := rv + 1; v <= s.rv; v++ {
		c := s.hist.at(v)
		k := controlloop.KeyOf(c.obj)
		if seen[k] {
			continue
		}
		seen[k] = true
		if c.typ != controlloop.Added {
			snap.items = append(snap.items, snapItem[T]{key: k, obj: c.prev})
		}
	}
	return snap
}

// cacheSnapshot keeps snap for later pages, dropping the oldest snapshot
// beyond maxSnapshots and any that left the history window.
func (s *Store[T]) cacheSnapshot(snap *snapshot[T]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	low := s.lockedOldestValid()
	s.snapshots = slices.DeleteFunc(s.snapshots, func(c *snapshot[T]) bool {
		return c.rv < low || (c.rv == snap.rv && c.namespace == snap.namespace)
	})
	if snap.rv < low {
		return
	}
	if len(s.snapshots) == maxSnapshots {
		s.snapshots[0] = nil
		s.snapshots = s.snapshots[1:]
	}
	s.snapshots = append(s.snapshots, snap)
}

// page returns copies of up to limit (all, if limit is 0) items that sel
// matches, after the key after if it is not nil; last is the key of the last
// one, more reports whether another matching item follows.
func (s *Store[T]) page(items []snapItem[T], sel controlloop.Selector, after *controlloop.Key, limit int) (out []T, last controlloop.Key, more bool) {
	start := 0
	if after != nil {
		start, _ = slices.BinarySearchFunc(items, *after, func(it snapItem[T], k controlloop.Key) int {
			if c := compareKeys(it.key, k); c != 0 {
				return c
			}
			return -1 // land after an equal key
		})
	}
	if sel.Namespace != "" {
		first, _ := slices.BinarySearchFunc(items, sel.Namespace, func(it snapItem[T], ns string) int {
			if c := strings.Compare(it.key.Namespace, ns); c != 0 {
				return c
			}
			return 1 // land on the first key of the namespace
		})
		start = max(start, first)
	}
	n := len(items) - start
	if limit > 0 {
		n = min(n, limit)
	}
	out = make([]T, 0, n)
	for _, it := range items[start:] {
		if sel.Namespace != "" && it.key.Namespace != sel.Namespace {
			break
		}
		if len(sel.Labels) > 0 && !sel.MatchesLabels(it.obj.GetObjectMeta().Labels) {
			continue
		}
		if limit > 0 && len(out) == limit {
			return out, last, true
		}
		out = append(out, s.copyOut(it.obj))
		last = it.key
	}
	return out, last, false
}

// lockedOldestValid returns the oldest version a watch or continue token
// may start from: every change after it is still in the history.
func (s *Store[T]) lockedOldestValid() uint64 {
	return s.rv - uint64(s.hist.n)
}

// checkSelector rejects a selector no object can satisfy because its
// namespace is not a valid one.
func checkSelector(sel controlloop.Selector) error {
	if strings.Contains(sel.Namespace, "/") {
		return fmt.Errorf("%w: selector namespace %q contains '/'", controlloop.ErrInvalid, sel.Namespace)
	}
	return nil
}

// token is the content of a continue token: the list's version, the
// selector namespace it was issued for and the last key returned.
type token struct {
	rv        uint64
	namespace string
	after     controlloop.Key
}

// String encodes t. No part can contain '/', which keys and namespaces
// never do, so '/' separates them.
func (t token) String() string {
	raw := formatRV(t.rv) + "/" + t.namespace + "/" + t.after.Namespace + "/" + t.after.Name
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func parseToken(s string) (token, error) {
	bad := fmt.Errorf("memstore: list: %w: malformed continue token %q", controlloop.ErrInvalid, s)
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return token{}, bad
	}
	parts := strings.Split(string(raw), "/")
	if len(parts) != 4 || parts[3] == "" {
		return token{}, bad
	}
	rv, err := parseRV(parts[0])
	if err != nil {
		return token{}, bad
	}
	return token{rv: rv, namespace: parts[1], after: controlloop.Key{Namespace: parts[2], Name: parts[3]}}, nil
}
