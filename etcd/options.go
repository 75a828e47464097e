package etcd

import (
	"fmt"
	"strings"

	"github.com/controlloop/controlloop"
)

// Options configure a [Source].
type Options struct {
	// Prefix is where the objects live: an object is stored under
	// <Prefix>/<namespace>/<name> (<Prefix>//<name> without a namespace).
	// Give each object type its own prefix; no other keys may live under
	// it. A trailing "/" is ignored. Required: there is no default, so that
	// two programs cannot share a prefix by accident.
	Prefix string
	// Codec encodes objects into etcd values. Defaults to [JSON].
	Codec Codec
}

func (o Options) validate() error {
	p := strings.TrimRight(o.Prefix, "/")
	switch {
	case p == "":
		return fmt.Errorf("etcd: %w: %T.Prefix is required (and must not be only slashes)", controlloop.ErrInvalid, o)
	case strings.ContainsRune(p, 0):
		return fmt.Errorf("etcd: %w: %T.Prefix must not contain a NUL byte", controlloop.ErrInvalid, o)
	}
	return nil
}

func (o Options) withDefaults() Options {
	o.Prefix = strings.TrimRight(o.Prefix, "/")
	if o.Codec == nil {
		o.Codec = JSON{}
	}
	return o
}
