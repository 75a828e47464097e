package etcdtest

import (
	"errors"
	"fmt"

	"github.com/controlloop/controlloop"
)

// Errors returned by [Server] methods. Test for them with [errors.Is].
var (
	// ErrRunning means Start was called on a running server.
	ErrRunning = errors.New("etcdtest: server is running")
	// ErrClosed means the server was closed.
	ErrClosed = errors.New("etcdtest: server is closed")
	// ErrNotRunning means a member that does not run was asked to pause
	// or resume.
	ErrNotRunning = errors.New("etcdtest: member is not running")
	// ErrStartTimeout means etcd was not ready within Options.StartTimeout.
	ErrStartTimeout = errors.New("etcdtest: server not ready in time")
)

// ErrNoBinary means [FindBinary] found no etcd executable.
var ErrNoBinary = errors.New("etcdtest: no etcd binary: install Debian's etcd-server (apt-get install etcd-server) or set " + BinaryEnv)

// invalid returns an error wrapping [controlloop.ErrInvalid] that names
// the field of an option, its value and the rule the value breaks.
func invalid(field string, value any, rule string) error {
	return fmt.Errorf("etcdtest: %s is %v: %s: %w", field, value, rule, controlloop.ErrInvalid)
}

// errAddrInUse means etcd could not listen on a port picked free: another
// process took it meanwhile. Start picks another.
var errAddrInUse = errors.New("etcdtest: address already in use")
