package etcd

import (
	"context"
	"fmt"

	"github.com/controlloop/controlloop"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Create stores obj as a new object, in one transaction that requires its
// key to be absent, and returns what it stored, decoded fresh: with the
// write's revision as resource version, a UID derived from it and
// Generation 1. It fails with [controlloop.ErrAlreadyExists] if the key is
// taken, and with [controlloop.ErrInvalid] for a nil object, an invalid key
// or an object that already carries a resource version. obj is not
// modified.
func (s *Source[T]) Create(ctx context.Context, obj T) (T, error) {
	var zero T
	if err := s.checkObject(ctx, "create", obj); err != nil {
		return zero, err
	}
	key := controlloop.KeyOf(obj)
	if rv := obj.GetResourceVersion(); rv != "" {
		return zero, fmt.Errorf("etcd: create %v: %w: resource version must be empty, is %q", key, controlloop.ErrInvalid, rv)
	}
	data, err := s.encode(obj, 1)
	if err != nil {
		return zero, err
	}
	k := s.Key(key)
	resp, err := s.commit(ctx, write{
		op:   "create",
		key:  key,
		cond: clientv3.Compare(clientv3.CreateRevision(k), "=", 0),
		then: clientv3.OpPut(k, string(data)),
		diagnose: func(cur *mvccpb.KeyValue) error {
			if cur != nil {
				return fmt.Errorf("etcd: create %v: %w", key, controlloop.ErrAlreadyExists)
			}
			return nil
		},
	})
	if err != nil {
		return zero, err
	}
	rev := resp.Header.Revision
	return s.written(key, data, rev, rev)
}

// Update replaces the stored object with obj and increases its Generation
// by one. It is a compare-and-swap on the key's mod revision: obj must carry
// the resource version it was read at, or the update fails with
// [controlloop.ErrConflict], as it does if obj's UID is set and differs
// from the stored one. An empty resource version is refused with
// [controlloop.ErrInvalid] rather than taken as an unconditional write. A
// missing object fails with [controlloop.ErrNotFound].
//
// It costs two round trips: a read for the stored Generation, then the
// transaction.
func (s *Source[T]) Update(ctx context.Context, obj T) (T, error) {
	return s.update(ctx, "update", obj, true)
}

// UpdateStatus is [Source.Update] that keeps the stored Generation. The
// whole object is replaced: the source does not know which fields are
// status.
func (s *Source[T]) UpdateStatus(ctx context.Context, obj T) (T, error) {
	return s.update(ctx, "update status", obj, false)
}

func (s *Source[T]) update(ctx context.Context, op string, obj T, bumpGeneration bool) (T, error) {
	var zero T
	if err := s.checkObject(ctx, op, obj); err != nil {
		return zero, err
	}
	key := controlloop.KeyOf(obj)
	meta := obj.GetObjectMeta()
	if meta.ResourceVersion == "" {
		return zero, fmt.Errorf("etcd: %s %v: %w: empty resource version (read the object first)", op, key, controlloop.ErrInvalid)
	}
	want, err := parseRev(meta.ResourceVersion)
	if err != nil {
		return zero, fmt.Errorf("etcd: %s %v: %w", op, key, err)
	}
	k := s.Key(key)
	resp, err := s.client.Get(ctx, k)
	if err != nil {
		return zero, fmt.Errorf("etcd: %s %v: %w", op, key, mapErr(err))
	}
	if len(resp.Kvs) == 0 {
		return zero, fmt.Errorf("etcd: %s %v: %w", op, key, controlloop.ErrNotFound)
	}
	cur := resp.Kvs[0]
	if cur.ModRevision != want {
		return zero, fmt.Errorf("etcd: %s %v: %w: version %d, stored %d", op, key, controlloop.ErrConflict, want, cur.ModRevision)
	}
	if meta.UID != "" && meta.UID != uidOf(cur.CreateRevision) {
		return zero, fmt.Errorf("etcd: %s %v: %w: UID %s, stored %s", op, key, controlloop.ErrConflict, meta.UID, uidOf(cur.CreateRevision))
	}
	stored, err := s.decode(cur)
	if err != nil {
		return zero, fmt.Errorf("etcd: %s: %w", op, err)
	}
	gen := stored.GetObjectMeta().Generation
	if bumpGeneration {
		gen++
	}
	data, err := s.encode(obj, gen)
	if err != nil {
		return zero, err
	}
	tresp, err := s.commit(ctx, write{
		op:   op,
		key:  key,
		cond: clientv3.Compare(clientv3.ModRevision(k), "=", want),
		then: clientv3.OpPut(k, string(data)),
		diagnose: func(cur *mvccpb.KeyValue) error {
			switch {
			case cur == nil:
				return fmt.Errorf("etcd: %s %v: %w", op, key, controlloop.ErrNotFound)
			case cur.ModRevision != want:
				return fmt.Errorf("etcd: %s %v: %w: version %d, stored %d", op, key, controlloop.ErrConflict, want, cur.ModRevision)
			}
			return nil
		},
	})
	if err != nil {
		return zero, err
	}
	return s.written(key, data, tresp.Header.Revision, cur.CreateRevision)
}

// Delete removes the object with the key. It fails with
// [controlloop.ErrNotFound] if there is none, and with
// [controlloop.ErrConflict] if opts.ResourceVersion is set and differs from
// the stored version (the check and the delete are one transaction).
func (s *Source[T]) Delete(ctx context.Context, key controlloop.Key, opts controlloop.DeleteOptions) error {
	if err := s.usable(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := key.Validate(); err != nil {
		return fmt.Errorf("etcd: delete: %w", err)
	}
	k := s.Key(key)
	// Without a precondition the delete only needs the key to exist.
	cond := clientv3.Compare(clientv3.CreateRevision(k), ">", 0)
	var want int64
	if opts.ResourceVersion != "" {
		var err error
		if want, err = parseRev(opts.ResourceVersion); err != nil {
			return fmt.Errorf("etcd: delete %v: %w", key, err)
		}
		cond = clientv3.Compare(clientv3.ModRevision(k), "=", want)
	}
	_, err := s.commit(ctx, write{
		op:   "delete",
		key:  key,
		cond: cond,
		then: clientv3.OpDelete(k),
		diagnose: func(cur *mvccpb.KeyValue) error {
			switch {
			case cur == nil:
				return fmt.Errorf("etcd: delete %v: %w", key, controlloop.ErrNotFound)
			case want != 0 && cur.ModRevision != want:
				return fmt.Errorf("etcd: delete %v: %w: version %d, stored %d", key, controlloop.ErrConflict, want, cur.ModRevision)
			}
			return nil
		},
	})
	return err
}

// write is one conditional write: a transaction of cond (plus the fence's
// condition, if any) then one operation.
type write struct {
	op   string
	key  controlloop.Key
	cond clientv3.Cmp
	then clientv3.Op
	// diagnose explains a failed transaction from the key's current state
	// (nil if absent): the error for the failed condition, or nil if cond
	// holds, in which case the fence's condition failed.
	diagnose func(cur *mvccpb.KeyValue) error
}

// commit runs w as one transaction. Its Else branch reads the key, so
// that a failure is explained without another round trip.
func (s *Source[T]) commit(ctx context.Context, w write) (*clientv3.TxnResponse, error) {
	cmps := []clientv3.Cmp{w.cond}
	var refused func() error
	if s.fenced {
		cmp, r, err := s.fence.condition(ctx)
		if err != nil {
			return nil, fmt.Errorf("etcd: %s %v: %w", w.op, w.key, err)
		}
		cmps, refused = append(cmps, cmp), r
	}
	resp, err := s.client.Txn(ctx).If(cmps...).Then(w.then).Else(clientv3.OpGet(s.Key(w.key))).Commit()
	if err != nil {
		return nil, fmt.Errorf("etcd: %s %v: %w", w.op, w.key, mapErr(err))
	}
	if resp.Succeeded {
		return resp, nil
	}
	var cur *mvccpb.KeyValue
	if r := resp.Responses[0].GetResponseRange(); r != nil && len(r.Kvs) > 0 {
		cur = r.Kvs[0]
	}
	if err := w.diagnose(cur); err != nil {
		return nil, err
	}
	if refused == nil {
		// Unreachable: the only condition held, yet the transaction failed.
		return nil, fmt.Errorf("etcd: %s %v: %w: transaction failed", w.op, w.key, controlloop.ErrConflict)
	}
	return nil, fmt.Errorf("etcd: %s %v: %w", w.op, w.key, refused())
}

// written returns the object a successful Create or Update stored: data
// decoded fresh, so that the caller's object and the result share nothing,
// stamped with the write's revisions.
func (s *Source[T]) written(key controlloop.Key, data []byte, modRev, createRev int64) (T, error) {
	return s.decode(&mvccpb.KeyValue{Key: []byte(s.Key(key)), Value: data, ModRevision: modRev, CreateRevision: createRev})
}
