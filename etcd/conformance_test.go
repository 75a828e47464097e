package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/etcd"
	"github.com/controlloop/controlloop/etcd/etcdtest"
	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/sourcetest"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// conformance returns the suite's options for sources through client,
// each under a prefix of its own.
func conformance(client *clientv3.Client) sourcetest.Options[*sourcetest.Object] {
	var n atomic.Int64
	type source = *etcd.Source[*sourcetest.Object]
	return sourcetest.Options[*sourcetest.Object]{
		New: func() (sourcetest.Backend[*sourcetest.Object], error) {
			return etcd.New[*sourcetest.Object](client, etcd.Options{Prefix: fmt.Sprintf("/conformance/%d", n.Add(1))})
		},
		Compact: func(ctx context.Context, _ sourcetest.Backend[*sourcetest.Object], rv string) error {
			rev, err := strconv.ParseInt(rv, 10, 64)
			if err != nil {
				return err
			}
			_, err = client.Compact(ctx, rev, clientv3.WithCompactPhysical())
			return err
		},
		Progress: func(ctx context.Context, b sourcetest.Backend[*sourcetest.Object]) error {
			return b.(source).RequestProgress(ctx)
		},
		// The JSON codec: what encoding/json does not keep.
		Differences: sourcetest.Differences{UnexportedFieldsDropped: true, EmptyMapsBecomeNil: true, EmptySlicesBecomeNil: true},
		// Keys are <prefix>/<namespace>/<name>, listed in etcd's byte order.
		Order: sourcetest.PathOrder,
	}
}

// TestConformance runs the source contract on the embedded etcd server.
func TestConformance(t *testing.T) {
	srv := etcdtest.Start(t, etcdtest.Options{})
	sourcetest.Run(t, conformance(srv.Client(t)))
}

// TestConformanceExternal runs the source contract on a separately
// started etcd process: Debian's etcd-server 3.4 in CI. It skips when no
// etcd binary is installed (apt-get install etcd-server, or set
// CONTROLLOOP_ETCD_BINARY), except in CI, where that fails.
func TestConformanceExternal(t *testing.T) {
	srv := etcdtest.Start(t, etcdtest.Options{Binary: etcdtest.Binary(t)})
	client := srv.Client(t)
	opts := conformance(client)
	// A server whose progress notifications may overtake events refuses
	// progress requests (see the etcd package doc): then the rules of
	// requested bookmarks cannot run. Anywhere else they must pass.
	b, err := opts.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := opts.Progress(t.Context(), b); errors.Is(err, errors.ErrUnsupported) {
		t.Logf("etcd %s refuses progress requests, so the bookmark rules do not run: %v", srv.Version(), err)
		opts.Progress = nil
	} else if err != nil {
		t.Fatalf("RequestProgress on etcd %s: %v", srv.Version(), err)
	}
	sourcetest.Run(t, opts)
}

// TestConformanceMemstoreWithJSON runs the contract on a memstore that
// keeps what this package's JSON codec keeps (memstore.Options.Codec):
// it declares the same differences as a Source, so a controller tested on
// it sees etcd's round trips. Only the order of lists differs.
func TestConformanceMemstoreWithJSON(t *testing.T) {
	type store = *memstore.Store[*sourcetest.Object]
	opts := conformance(nil)
	opts.New = func() (sourcetest.Backend[*sourcetest.Object], error) {
		return memstore.New[*sourcetest.Object](memstore.Options{Codec: etcd.JSON{}})
	}
	opts.Compact = func(_ context.Context, b sourcetest.Backend[*sourcetest.Object], rv string) error {
		return b.(store).Compact(rv)
	}
	opts.Progress = func(_ context.Context, b sourcetest.Backend[*sourcetest.Object]) error {
		b.(store).RequestProgress()
		return nil
	}
	opts.Order = sourcetest.KeyOrder
	sourcetest.Run(t, opts)
}

// TestKnownDifferences checks the rows of the table of differences in
// package sourcetest's doc that the suite cannot run: types that memstore
// refuses, and values that the JSON codec refuses.
func TestKnownDifferences(t *testing.T) {
	type withChan struct {
		controlloop.ObjectMeta
		C chan int `json:"c,omitempty"`
	}
	type withPointer struct {
		controlloop.ObjectMeta
		p *int
	}
	type text struct {
		controlloop.ObjectMeta
		S string `json:"s"`
	}
	ctx := testContext(t, time.Minute)
	client := etcdtest.Start(t, etcdtest.Options{}).Client(t)
	invalid := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, controlloop.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", what, err)
		}
	}

	// chan and func fields: memstore refuses the type, etcd every write.
	_, err := memstore.New[*withChan](memstore.Options{})
	invalid("memstore.New of a type with a chan field", err)
	chans, err := etcd.New[*withChan](client, etcd.Options{Prefix: "/known/chan"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = chans.Create(ctx, &withChan{ObjectMeta: controlloop.ObjectMeta{Name: "a"}})
	invalid("etcd Create of a type with a nil chan field", err)

	// Unexported fields that point: memstore refuses the type, etcd drops them.
	_, err = memstore.New[*withPointer](memstore.Options{})
	invalid("memstore.New of a type with an unexported pointer", err)
	pointers, err := etcd.New[*withPointer](client, etcd.Options{Prefix: "/known/pointer"})
	if err != nil {
		t.Fatal(err)
	}
	one := 1
	if got, err := pointers.Create(ctx, &withPointer{ObjectMeta: controlloop.ObjectMeta{Name: "a"}, p: &one}); err != nil || got.p != nil {
		t.Errorf("etcd Create of a type with an unexported pointer = %+v, %v; want it stored without the pointer", got, err)
	}

	// Strings that are not valid UTF-8: memstore keeps them, the JSON codec
	// (etcd's, or memstore's with it) refuses them.
	bad := &text{ObjectMeta: controlloop.ObjectMeta{Name: "a"}, S: "\xff"}
	plain, err := memstore.New[*text](memstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := plain.Create(ctx, bad); err != nil || got.S != "\xff" {
		t.Errorf("memstore Create of invalid UTF-8 = %q, %v; want it kept", got.S, err)
	}
	coded, err := memstore.New[*text](memstore.Options{Codec: etcd.JSON{}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = coded.Create(ctx, bad)
	invalid("memstore with etcd.JSON: Create of invalid UTF-8", err)
	texts, err := etcd.New[*text](client, etcd.Options{Prefix: "/known/text"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = texts.Create(ctx, bad)
	invalid("etcd Create of invalid UTF-8", err)
}
