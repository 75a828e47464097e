package etcd

import "encoding/json"

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

// JSON is the default [Codec]: encoding/json.
type JSON struct{}

// Encode returns json.Marshal(obj).
func (JSON) Encode(obj any) ([]byte, error) { return json.Marshal(obj) }

// Decode calls json.Unmarshal(data, obj).
func (JSON) Decode(data []byte, obj any) error { return json.Unmarshal(data, obj) }

var _ Codec = JSON{}
