package etcd

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/controlloop/controlloop"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Get returns the object with the key, decoded fresh from etcd, or an error
// wrapping [controlloop.ErrNotFound]. The read is linearizable.
func (s *Source[T]) Get(ctx context.Context, key controlloop.Key) (T, error) {
	var zero T
	if err := s.usable(); err != nil {
		return zero, err
	}
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	if err := key.Validate(); err != nil {
		return zero, fmt.Errorf("etcd: get: %w", err)
	}
	resp, err := s.client.Get(ctx, s.Key(key))
	if err != nil {
		return zero, fmt.Errorf("etcd: get %v: %w", key, mapErr(err))
	}
	if len(resp.Kvs) == 0 {
		return zero, fmt.Errorf("etcd: get %v: %w", key, controlloop.ErrNotFound)
	}
	return s.decode(resp.Kvs[0])
}

// List returns the objects opts selects, in the byte order of their etcd
// keys, "<namespace>/<name>" (sourcetest.PathOrder: namespace "a-b" sorts
// before "a/..." since '-' < '/'), decoded fresh, with the revision they were
// read at as the result's version. The read is linearizable.
//
// With opts.Limit set, List returns at most that many objects and a
// continue token when more keys remain. Every page of one list is read at
// the revision of the first, whatever was written since; a token whose
// revision etcd has compacted fails with [controlloop.ErrExpired]. Pass the
// same Selector with every page: a token from another namespace fails with
// [controlloop.ErrInvalid], as do a negative limit and a malformed token.
//
// A value that cannot be decoded, or whose key is not
// <prefix>/<namespace>/<name>, is left out and reported (a log line at
// Warn and Options.OnDecodeError), so that one bad value cannot keep a
// consumer from starting.
//
// The namespace selects a key range in etcd; labels are matched here, on
// the client, so a label selector still reads every object in the range.
// A page under a label selector is filled up to the limit from further
// reads where the first leaves it short.
func (s *Source[T]) List(ctx context.Context, opts controlloop.ListOptions) (controlloop.ListResult[T], error) {
	var res controlloop.ListResult[T]
	if err := s.usable(); err != nil {
		return res, err
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if err := checkSelector(opts.Selector); err != nil {
		return res, fmt.Errorf("etcd: list: %w", err)
	}
	if opts.Limit < 0 {
		return res, fmt.Errorf("etcd: list: %w: negative limit %d", controlloop.ErrInvalid, opts.Limit)
	}
	start, end := s.rangeFor(opts.Namespace)
	var rev int64
	if opts.Continue != "" {
		tok, err := parseToken(opts.Continue)
		if err != nil {
			return res, err
		}
		if tok.Namespace != opts.Namespace {
			return res, fmt.Errorf("etcd: list: %w: continue token is for namespace %q, selector asks for %q", controlloop.ErrInvalid, tok.Namespace, opts.Namespace)
		}
		rev = tok.Rev
		start = s.prefix + "/" + tok.After + "\x00"
	}

	for {
		ops := []clientv3.OpOption{clientv3.WithRange(end)}
		if opts.Limit > 0 {
			ops = append(ops, clientv3.WithLimit(int64(opts.Limit-len(res.Items))))
		}
		if rev > 0 {
			ops = append(ops, clientv3.WithRev(rev))
		}
		resp, err := s.client.Get(ctx, start, ops...)
		if err != nil {
			return controlloop.ListResult[T]{}, fmt.Errorf("etcd: list from key %q at revision %d: %w", start, rev, mapErr(err))
		}
		if rev == 0 {
			// Later pages are read at this revision. Their own headers
			// report the current revision, which must not be taken.
			rev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			obj, err := s.decode(kv)
			if err != nil {
				s.skip("list", kv.Key, err)
				continue
			}
			if opts.Selector.MatchesLabels(obj.GetObjectMeta().Labels) {
				res.Items = append(res.Items, obj)
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			break
		}
		// More keys remain: the page is full, or labels filtered some out.
		last := string(resp.Kvs[len(resp.Kvs)-1].Key)
		if len(res.Items) >= opts.Limit {
			res.Continue = token{Rev: rev, Namespace: opts.Namespace, After: last[len(s.prefix)+1:]}.String()
			break
		}
		start = last + "\x00"
	}
	res.ResourceVersion = formatRev(rev)
	return res, nil
}

// token is a continue token: where the next page starts and at which
// revision every page is read.
type token struct {
	Rev       int64  `json:"rev"`
	Namespace string `json:"ns,omitempty"`
	// After is the last key returned, relative to the prefix.
	After string `json:"after"`
}

func (t token) String() string {
	b, _ := json.Marshal(t) // cannot fail: plain fields
	return base64.RawURLEncoding.EncodeToString(b)
}

func parseToken(s string) (token, error) {
	var t token
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	if err == nil && (t.Rev <= 0 || t.After == "") {
		err = fmt.Errorf("missing fields")
	}
	if err == nil && t.Namespace != "" && !strings.HasPrefix(t.After, t.Namespace+"/") {
		err = fmt.Errorf("position outside its namespace")
	}
	if err != nil {
		return token{}, fmt.Errorf("etcd: list: %w: malformed continue token %q: %v", controlloop.ErrInvalid, s, err)
	}
	return t, nil
}
