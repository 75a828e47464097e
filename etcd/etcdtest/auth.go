package etcdtest

import (
	"context"
	"errors"
	"fmt"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// enableAuth creates the users of Options.Auth and turns authentication
// on: "root" with the root role, and Auth.User with a role of the same
// name that may read and write the keys under Auth.Prefix. A data
// directory whose etcd has authentication on already is left alone.
func (s *Server) enableAuth(ctx context.Context) error {
	a := s.opts.Auth
	c, err := s.newClient(s.Endpoints(), false)
	if err != nil {
		return err
	}
	defer c.Close()
	steps := []func() error{
		func() error { _, err := c.RoleAdd(ctx, "root"); return err },
		func() error { _, err := c.UserAdd(ctx, "root", a.RootPassword); return err },
		func() error { _, err := c.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := c.RoleAdd(ctx, a.User); return err },
		func() error {
			_, err := c.RoleGrantPermission(ctx, a.User, a.Prefix, clientv3.GetPrefixRangeEnd(a.Prefix),
				clientv3.PermissionType(clientv3.PermReadWrite))
			return err
		},
		func() error { _, err := c.UserAdd(ctx, a.User, a.Password); return err },
		func() error { _, err := c.UserGrantRole(ctx, a.User, a.User); return err },
		func() error { _, err := c.AuthEnable(ctx); return err },
	}
	for i, step := range steps {
		err := step()
		switch {
		case err == nil:
		case i == 0 && (errors.Is(err, rpctypes.ErrUserEmpty) || errors.Is(err, rpctypes.ErrPermissionDenied)):
			return nil // authentication is on: this data directory has its users
		default:
			return fmt.Errorf("etcdtest: enable authentication: %w", err)
		}
	}
	return nil
}
