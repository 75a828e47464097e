//go:build !unix

package etcdtest

import (
	"context"
	"errors"
	"fmt"
)

// startExternal fails: etcdtest runs etcd processes on Unix systems only.
func startExternal(context.Context, *Member) (proc, error) {
	return nil, fmt.Errorf("external etcd processes need a Unix system: %w", errors.ErrUnsupported)
}
