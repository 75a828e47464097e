package memstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/memstore"
	"github.com/google/go-cmp/cmp"
)

// note is a Pod with an unexported field, which a JSON codec drops.
type note struct {
	controlloop.ObjectMeta
	Text   string   `json:"text"`
	Tags   []string `json:"tags,omitempty"`
	secret string
}

// TestCodec checks that a store with Options.Codec keeps what the codec
// round trip leaves (the caller's name and namespace, whatever the codec
// does to them), and refuses with ErrInvalid, storing nothing, a write the
// codec cannot encode or decode.
func TestCodec(t *testing.T) {
	ctx := context.Background()
	s := must(memstore.New[*note](memstore.Options{Codec: jsonCodec{}}))
	in := &note{ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: "a", Labels: map[string]string{}}, Text: "t", Tags: []string{}, secret: "s"}
	got, err := s.Create(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	want := &note{ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: "a", ResourceVersion: "1", UID: "uid-1", Generation: 1}, Text: "t"}
	for how, obj := range map[string]*note{"Create": got, "Get": must(s.Get(ctx, controlloop.KeyOf(in)))} {
		if diff := cmp.Diff(want, obj, cmp.AllowUnexported(note{})); diff != "" {
			t.Errorf("%s (-want +got):\n%s", how, diff)
		}
	}
	if in.secret != "s" || in.Labels == nil {
		t.Errorf("Create modified its argument: %+v", in)
	}

	nameless := must(memstore.New[*note](memstore.Options{Codec: dropNames{}}))
	if got, err := nameless.Create(ctx, in); err != nil || controlloop.KeyOf(got) != controlloop.KeyOf(in) {
		t.Errorf("Create through a codec that drops names = %v, %v; want the key %v", controlloop.KeyOf(got), err, controlloop.KeyOf(in))
	}

	for name, codec := range map[string]memstore.Codec{"encode": failing{encode: true}, "decode": failing{}} {
		s := must(memstore.New[*note](memstore.Options{Codec: codec}))
		if _, err := s.Create(ctx, in); !errors.Is(err, controlloop.ErrInvalid) || !errors.Is(err, errCodec) {
			t.Errorf("Create with a failing %s: %v, want ErrInvalid wrapping the codec's error", name, err)
		}
		if s.Len() != 0 {
			t.Errorf("a failing %s stored %d objects", name, s.Len())
		}
	}
}

var errCodec = errors.New("codec failed")

// failing is a codec that fails to encode, or to decode.
type failing struct{ encode bool }

func (f failing) Encode(obj any) ([]byte, error) {
	if f.encode {
		return nil, errCodec
	}
	return json.Marshal(obj)
}

func (failing) Decode([]byte, any) error { return errCodec }

// dropNames is a codec that keeps no namespace or name.
type dropNames struct{}

func (dropNames) Encode(obj any) ([]byte, error)    { return []byte(`{"text":"x"}`), nil }
func (dropNames) Decode(data []byte, obj any) error { return json.Unmarshal(data, obj) }
