package memstore_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/sourcetest"
)

// conformance returns the suite's options for stores made with opts.
func conformance(opts memstore.Options) sourcetest.Options[*sourcetest.Object] {
	type store = *memstore.Store[*sourcetest.Object]
	return sourcetest.Options[*sourcetest.Object]{
		New: func() (sourcetest.Backend[*sourcetest.Object], error) {
			return memstore.New[*sourcetest.Object](opts)
		},
		Compact: func(_ context.Context, b sourcetest.Backend[*sourcetest.Object], rv string) error {
			return b.(store).Compact(rv)
		},
		Progress: func(_ context.Context, b sourcetest.Backend[*sourcetest.Object]) error {
			b.(store).RequestProgress()
			return nil
		},
	}
}

// TestConformance runs the source contract on a Store: it keeps every
// object exactly as written.
func TestConformance(t *testing.T) {
	sourcetest.Run(t, conformance(memstore.Options{}))
}

// jsonCodec is encoding/json, as a serialising backend stores objects.
type jsonCodec struct{}

func (jsonCodec) Encode(obj any) ([]byte, error)    { return json.Marshal(obj) }
func (jsonCodec) Decode(data []byte, obj any) error { return json.Unmarshal(data, obj) }

// TestConformanceWithCodec runs the contract on a Store with a JSON
// Options.Codec: it has the differences of a JSON-encoding backend (the
// etcd module's), which the suite checks happen.
func TestConformanceWithCodec(t *testing.T) {
	opts := conformance(memstore.Options{Codec: jsonCodec{}})
	opts.Differences = sourcetest.Differences{UnexportedFieldsDropped: true, EmptyMapsBecomeNil: true, EmptySlicesBecomeNil: true}
	sourcetest.Run(t, opts)
}
