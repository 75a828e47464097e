package etcdtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	"go.etcd.io/etcd/server/v3/embed"
)

// embedded is a member run by go.etcd.io/etcd/server/v3/embed in this
// process.
type embedded struct{ e *embed.Etcd }

// startEmbedded starts m in this process and waits until it serves.
func startEmbedded(ctx context.Context, m *Member) (proc, error) {
	e, err := embed.StartEtcd(embedConfig(m))
	if err != nil {
		if strings.Contains(err.Error(), "address already in use") {
			return nil, fmt.Errorf("%w: %w", errAddrInUse, err)
		}
		return nil, err
	}
	select {
	case <-e.Server.ReadyNotify():
		return embedded{e}, nil
	case err := <-e.Err():
		e.Close()
		return nil, err
	case <-ctx.Done():
		e.Close()
		return nil, context.Cause(ctx)
	}
}

// embedConfig is m's configuration: client port chosen by the kernel,
// short raft ticks, and the server's options.
func embedConfig(m *Member) *embed.Config {
	o := m.s.opts
	cfg := embed.NewConfig()
	cfg.Name = m.name
	cfg.Dir = m.dir
	cfg.ListenClientUrls = []url.URL{{Scheme: m.s.scheme(), Host: "127.0.0.1:0"}}
	cfg.AdvertiseClientUrls = []url.URL{{Scheme: m.s.scheme(), Host: m.proxy.addr()}}
	if f := o.TLS; f != nil {
		cfg.ClientTLSInfo = transport.TLSInfo{
			CertFile: f.CertFile, KeyFile: f.KeyFile,
			TrustedCAFile: f.CAFile, ClientCertAuth: f.ClientCertAuth,
		}
	}
	peer, _ := url.Parse(m.peerURL())
	cfg.ListenPeerUrls = []url.URL{*peer}
	cfg.AdvertisePeerUrls = []url.URL{*peer}
	cfg.InitialCluster = m.s.initialCluster()
	cfg.InitialClusterToken = "etcdtest"
	tick, election := m.s.ticks()
	cfg.TickMs, cfg.ElectionMs = uint(tick/time.Millisecond), uint(election/time.Millisecond)
	cfg.UnsafeNoFsync = !o.Fsync
	cfg.EnableGRPCGateway = false
	cfg.BcryptCost = 4 // bcrypt.MinCost: auth tests need no strong hashing
	if o.Auth != nil {
		cfg.AuthToken = "simple"
		cfg.AuthTokenTTL = uint(o.Auth.TokenTTL / time.Second)
	}
	cfg.WatchProgressNotifyInterval = o.ProgressNotifyInterval
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(o.Logger)
	return cfg
}

func (e embedded) clientAddr() string { return e.e.Clients[0].Addr().String() }

func (e embedded) exited() bool {
	select {
	case <-e.e.Server.StopNotify():
		return true
	default:
		return false
	}
}

func (e embedded) stop() { e.e.Close() }

// kill is stop: a server in this process cannot be killed.
func (e embedded) kill() { e.e.Close() }

func (e embedded) pause() error {
	return fmt.Errorf("an embedded server cannot be paused: %w", errors.ErrUnsupported)
}

func (e embedded) resume() error {
	return fmt.Errorf("an embedded server cannot be paused: %w", errors.ErrUnsupported)
}
