package etcd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/controlloop/controlloop"
)

// A Codec turns objects into the bytes stored in etcd and back. Decode is
// always given a pointer to a fresh zero value of the object's struct type.
//
// The metadata fields the store owns are not trusted from the stored bytes:
// ResourceVersion and UID are derived from the key's revisions on every
// read, and Namespace and Name from the key.
type Codec interface {
	Encode(obj any) ([]byte, error)
	Decode(data []byte, obj any) error
}

// JSON is the default [Codec]: encoding/json, refusing what it would not
// store faithfully, in an envelope that names the kind of the object:
//
//	{"controlloop.kind":"Pod","object":{"name":"a",...}}
//
// A value of another kind (a second type stored under the same prefix) is
// refused by Decode with an error wrapping [ErrKind], rather than decoded
// into a wrong object. A value without the envelope, as versions of this
// package before the envelope stored them, decodes as the plain JSON of the
// object, of any kind.
//
// See the package documentation's "Round trips" for what a JSON round
// trip does not keep.
type JSON struct {
	// Kind names the kind of the objects in the envelope. Defaults to the
	// name of the object's struct type, without its package path (Pod for
	// a *Pod); set it to keep stored values readable after renaming the
	// type. An object whose type has no name (an anonymous struct) and no
	// Kind is stored as plain JSON, without the envelope.
	Kind string
}

// The envelope as Encode writes it: envelopeStart, the kind as a JSON
// string, envelopeObject, the object, "}".
const (
	envelopeStart  = `{"controlloop.kind":`
	envelopeObject = `,"object":`
)

// kind returns the kind of the objects of obj's type: c.Kind, or the name
// of the type obj points to.
func (c JSON) kind(obj any) string {
	if c.Kind != "" {
		return c.Kind
	}
	t := reflect.TypeOf(obj)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return ""
	}
	return t.Name()
}

// Encode returns the envelope of json.Marshal(obj), or an error wrapping
// [controlloop.ErrInvalid] if obj holds a string that is not valid UTF-8:
// encoding/json would store U+FFFD in place of its bad bytes, so the object
// read back would differ from the one written. It finds such strings by
// the escape \ufffd, which encoding/json writes only for them (a real U+FFFD
// it writes as itself), so a MarshalJSON method that writes that escape is
// refused too.
func (c JSON) Encode(obj any) ([]byte, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	if hasEscapedReplacement(b) {
		return nil, fmt.Errorf("etcd: JSON: encode %T: %w: a string is not valid UTF-8", obj, controlloop.ErrInvalid)
	}
	kind := c.kind(obj)
	if kind == "" {
		return b, nil
	}
	k, err := json.Marshal(kind)
	if err != nil {
		return nil, err
	}
	if hasEscapedReplacement(k) {
		return nil, fmt.Errorf("etcd: JSON: encode %T: %w: kind %q is not valid UTF-8", obj, controlloop.ErrInvalid, kind)
	}
	out := make([]byte, 0, len(envelopeStart)+len(k)+len(envelopeObject)+len(b)+1)
	out = append(append(append(append(append(out, envelopeStart...), k...), envelopeObject...), b...), '}')
	return out, nil
}

// hasEscapedReplacement reports whether b, JSON text, holds the escape
// \ufffd.
func hasEscapedReplacement(b []byte) bool {
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		if bytes.HasPrefix(b[i+1:], []byte("ufffd")) {
			return true
		}
		i++ // the escaped character, which may be another backslash
	}
	return false
}

// Decode decodes data into obj with json.Unmarshal: the object of an
// envelope whose kind is obj's (an error wrapping [ErrKind] if it is
// another's), or data itself if it has no envelope.
func (c JSON) Decode(data []byte, obj any) error {
	kind, object, ok := splitEnvelope(data)
	if !ok {
		return json.Unmarshal(data, obj)
	}
	var got string
	if err := json.Unmarshal(kind, &got); err != nil {
		return fmt.Errorf("etcd: JSON: kind of the envelope: %w", err)
	}
	if want := c.kind(obj); got != want {
		return fmt.Errorf("etcd: JSON: value of kind %q, want %q: %w", got, want, ErrKind)
	}
	return json.Unmarshal(object, obj)
}

// splitEnvelope returns the kind (JSON text) and the object of an envelope
// as Encode writes it, or ok false if data does not start like one. The
// first envelopeObject after the kind ends it: json.Marshal writes a quote
// inside a string as \", so the kind's text cannot hold that sequence.
func splitEnvelope(data []byte) (kind, object []byte, ok bool) {
	rest, ok := bytes.CutPrefix(data, []byte(envelopeStart))
	if !ok {
		return nil, nil, false
	}
	kind, rest, ok = bytes.Cut(rest, []byte(envelopeObject))
	if !ok {
		// Not an envelope Encode wrote: decode it as plain JSON, which fails
		// or gives what encoding/json makes of it.
		return nil, nil, false
	}
	object, ok = bytes.CutSuffix(rest, []byte("}"))
	return kind, object, ok
}

var _ Codec = JSON{}
