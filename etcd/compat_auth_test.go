package etcd_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/etcd"
	"github.com/controlloop/controlloop/etcd/etcdtest"
)

// tokenTTL is the auth token lifetime of TestCompatAuthTokenExpiry: as
// short as etcd allows, so that the test waits little for it.
const tokenTTL = 2 * time.Second

// TestCompatAuthTokenExpiry (issue 13, item 2): with password auth and
// tokens that expire after tokenTTL of disuse, a client made by
// ClientConfig recovers after its token expired, on every server: a Get
// answers, a watch re-created after a connection blip resumes (the
// informer sees a later write), and an Elector campaigns again. On etcd
// 3.4, clientv3's own token refresh sends the expired token with its
// Authenticate request, which 3.4 refuses: each of these hung until its
// deadline.
func TestCompatAuthTokenExpiry(t *testing.T) {
	opts := etcdtest.Options{Auth: &etcdtest.Auth{Prefix: "/", TokenTTL: tokenTTL}}
	onEveryServer(t, allKinds, opts, func(t *testing.T, srv *etcdtest.Server) {
		ctx := testContext(t, 60*time.Second)
		a := srv.Options().Auth
		// One client per case, so that one's renewed token does not help
		// another.
		user := func() etcd.ClientConfig {
			return etcd.ClientConfig{Endpoints: srv.Endpoints(), Username: a.User, Password: a.Password}
		}
		getter, watcher, candidate := configClient(t, user()), configClient(t, user()), configClient(t, user())
		root := newSource(t, srv.Client(t))
		prefix := root.Prefix()
		newSrc := func(c *etcd.Source[*Pod], err error) *etcd.Source[*Pod] {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		gets := newSrc(etcd.New[*Pod](getter, etcd.Options{Prefix: prefix, Logger: quietLog}))
		watches := newSrc(etcd.New[*Pod](watcher, etcd.Options{Prefix: prefix, Logger: quietLog}))
		if _, err := root.Create(ctx, pod("ns", "a", nil)); err != nil {
			t.Fatal(err)
		}
		if _, err := gets.Get(ctx, controlloop.Key{Namespace: "ns", Name: "a"}); err != nil {
			t.Fatalf("Get before the token expired: %v", err)
		}
		inf := startInformer(t, watches)
		elector := newElector(t, candidate, fmt.Sprintf("/elect%s", prefix), "c", 2*time.Second)
		leadCtx, resign := context.WithCancel(ctx)
		lead(t, leadCtx, elector)
		resign()
		elector.Wait()

		time.Sleep(tokenTTL + time.Second) // etcd's clock: every token expires

		bounded := func(d time.Duration) context.Context {
			c, cancel := context.WithTimeout(ctx, d)
			t.Cleanup(cancel)
			return c
		}
		if _, err := gets.Get(bounded(5*time.Second), controlloop.Key{Namespace: "ns", Name: "a"}); err != nil {
			t.Errorf("Get after the token expired: %v", err)
		}
		r := <-campaign(bounded(10*time.Second), elector)
		if r.err != nil {
			t.Errorf("a campaign after the token expired: %v", r.err)
		}
		srv.CutConnections()
		// A new client, whose token is fresh, writes what the informer's
		// watch, re-created after the blip, must see.
		fresh := newSrc(etcd.New[*Pod](srv.Client(t), etcd.Options{Prefix: prefix, Logger: quietLog}))
		if _, err := fresh.Create(ctx, pod("ns", "b", nil)); err != nil {
			t.Fatal(err)
		}
		converges(t, inf, fresh, 10*time.Second)
	})
}
