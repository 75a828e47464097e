package etcd_test

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/etcd"
	"github.com/controlloop/controlloop/etcd/etcdtest"
	"github.com/google/go-cmp/cmp"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func TestCreateGetUpdateDelete(t *testing.T) {
	e := newEnv(t, etcdtest.Options{})
	ctx := testContext(t, 30*time.Second)

	in := pod("ns", "a", map[string]string{"app": "web"})
	in.Spec = "v1"
	created, err := e.src.Create(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if in.ResourceVersion != "" || in.UID != "" || in.Generation != 0 {
		t.Errorf("Create modified its argument: %+v", in.ObjectMeta)
	}
	if created.ResourceVersion == "" || created.UID != "uid-"+created.ResourceVersion || created.Generation != 1 {
		t.Errorf("created meta = %+v, want a version, UID uid-<version>, generation 1", created.ObjectMeta)
	}
	got, err := e.src.Get(ctx, controlloop.KeyOf(in))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(created, got); diff != "" {
		t.Errorf("Get differs from Create's result (-create +get):\n%s", diff)
	}
	got.Labels["app"] = "mutated" // a fresh decode: nothing else sees this
	if again, _ := e.src.Get(ctx, controlloop.KeyOf(in)); again.Labels["app"] != "web" {
		t.Errorf("a caller's mutation reached the store: %v", again.Labels)
	}

	created.Spec = "v2"
	updated, err := e.src.Update(ctx, created)
	if err != nil {
		t.Fatal(err)
	}
	if updated.Generation != 2 || updated.UID != created.UID || updated.ResourceVersion == created.ResourceVersion || updated.Spec != "v2" {
		t.Errorf("updated = %+v, want generation 2, same UID, new version, spec v2", updated)
	}
	updated.Status = "ready"
	status, err := e.src.UpdateStatus(ctx, updated)
	if err != nil {
		t.Fatal(err)
	}
	if status.Generation != 2 || status.Status != "ready" {
		t.Errorf("after UpdateStatus: generation %d status %q, want 2 and ready", status.Generation, status.Status)
	}
	// A version taken from etcd: the key's mod revision.
	resp, err := e.client.Get(ctx, e.src.Key(controlloop.KeyOf(in)))
	if err != nil {
		t.Fatal(err)
	}
	if rv := strconv.FormatInt(resp.Kvs[0].ModRevision, 10); rv != status.ResourceVersion {
		t.Errorf("resource version %s, mod revision %s", status.ResourceVersion, rv)
	}

	if err := e.src.Delete(ctx, controlloop.KeyOf(in), controlloop.DeleteOptions{ResourceVersion: status.ResourceVersion}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.src.Get(ctx, controlloop.KeyOf(in)); !errors.Is(err, controlloop.ErrNotFound) {
		t.Errorf("Get after Delete: %v, want ErrNotFound", err)
	}
	// A new object under the same name has a new UID.
	again, err := e.src.Create(ctx, pod("ns", "a", nil))
	if err != nil {
		t.Fatal(err)
	}
	if again.UID == created.UID {
		t.Errorf("recreated object reuses UID %s", again.UID)
	}
}

func TestWriteErrors(t *testing.T) {
	e := newEnv(t, etcdtest.Options{})
	ctx := testContext(t, 30*time.Second)
	a, err := e.src.Create(ctx, pod("ns", "a", nil))
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.src.Update(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	stale := a
	wrongUID := *b
	wrongUID.UID = "uid-1"
	badRV := *b
	badRV.ResourceVersion = "x"
	var nilPod *Pod

	tests := []struct {
		name string
		do   func() error
		want error
	}{
		{"create existing", func() error { _, err := e.src.Create(ctx, pod("ns", "a", nil)); return err }, controlloop.ErrAlreadyExists},
		{"create with version", func() error { _, err := e.src.Create(ctx, b); return err }, controlloop.ErrInvalid},
		{"create nil", func() error { _, err := e.src.Create(ctx, nilPod); return err }, controlloop.ErrInvalid},
		{"create empty name", func() error { _, err := e.src.Create(ctx, pod("ns", "", nil)); return err }, controlloop.ErrInvalid},
		{"create name with slash", func() error { _, err := e.src.Create(ctx, pod("ns", "x/y", nil)); return err }, controlloop.ErrInvalid},
		{"update stale", func() error { _, err := e.src.Update(ctx, stale); return err }, controlloop.ErrConflict},
		{"update status stale", func() error { _, err := e.src.UpdateStatus(ctx, stale); return err }, controlloop.ErrConflict},
		{"update wrong UID", func() error { _, err := e.src.Update(ctx, &wrongUID); return err }, controlloop.ErrConflict},
		{"update missing", func() error {
			p := pod("ns", "missing", nil)
			p.ResourceVersion = "5"
			_, err := e.src.Update(ctx, p)
			return err
		}, controlloop.ErrNotFound},
		{"update without version", func() error { _, err := e.src.Update(ctx, pod("ns", "a", nil)); return err }, controlloop.ErrInvalid},
		{"update bad version", func() error { _, err := e.src.Update(ctx, &badRV); return err }, controlloop.ErrInvalid},
		{"delete missing", func() error {
			return e.src.Delete(ctx, controlloop.Key{Namespace: "ns", Name: "missing"}, controlloop.DeleteOptions{})
		}, controlloop.ErrNotFound},
		{"delete missing with version", func() error {
			return e.src.Delete(ctx, controlloop.Key{Namespace: "ns", Name: "missing"}, controlloop.DeleteOptions{ResourceVersion: "3"})
		}, controlloop.ErrNotFound},
		{"delete stale", func() error {
			return e.src.Delete(ctx, controlloop.KeyOf(a), controlloop.DeleteOptions{ResourceVersion: a.ResourceVersion})
		}, controlloop.ErrConflict},
		{"delete bad key", func() error { return e.src.Delete(ctx, controlloop.Key{}, controlloop.DeleteOptions{}) }, controlloop.ErrInvalid},
		{"get missing", func() error { _, err := e.src.Get(ctx, controlloop.Key{Name: "missing"}); return err }, controlloop.ErrNotFound},
		{"get bad key", func() error { _, err := e.src.Get(ctx, controlloop.Key{Name: "a/b"}); return err }, controlloop.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.do(); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	// The failed writes left b alone.
	got, err := e.src.Get(ctx, controlloop.KeyOf(b))
	if err != nil || got.ResourceVersion != b.ResourceVersion {
		t.Errorf("after failed writes: %v %v, want version %s", got, err, b.ResourceVersion)
	}
}

// TestConcurrentUpdatesFromOneVersion: Update is a compare-and-swap in
// etcd's transaction, not only a check before it: of updates that all read
// the same version and race to write, exactly one wins each round, and the
// others fail with ErrConflict (and UpdateStatus and Delete alike).
func TestConcurrentUpdatesFromOneVersion(t *testing.T) {
	e := newEnv(t, etcdtest.Options{})
	ctx := testContext(t, 60*time.Second)
	cur, err := e.src.Create(ctx, pod("ns", "raced", nil))
	if err != nil {
		t.Fatal(err)
	}
	const rounds, writers = 20, 8
	writes := map[string]func(p *Pod) error{
		"Update":       func(p *Pod) error { _, err := e.src.Update(ctx, p); return err },
		"UpdateStatus": func(p *Pod) error { _, err := e.src.UpdateStatus(ctx, p); return err },
		"Delete": func(p *Pod) error {
			return e.src.Delete(ctx, controlloop.KeyOf(p), controlloop.DeleteOptions{ResourceVersion: p.ResourceVersion})
		},
	}
	for name, write := range writes {
		for round := range rounds {
			start := make(chan struct{})
			errs := make(chan error, writers)
			for w := range writers {
				p := *cur
				p.Spec = fmt.Sprintf("round %d writer %d", round, w)
				go func() { <-start; errs <- write(&p) }()
			}
			close(start)
			won := 0
			for range writers {
				switch err := <-errs; {
				case err == nil:
					won++
				case !errors.Is(err, controlloop.ErrConflict) && !errors.Is(err, controlloop.ErrNotFound):
					t.Fatalf("%s round %d: %v, want ErrConflict for a loser", name, round, err)
				}
			}
			if won != 1 {
				t.Fatalf("%s round %d: %d of %d writes from one version won, want 1", name, round, won, writers)
			}
			if name == "Delete" {
				if cur, err = e.src.Create(ctx, pod("ns", "raced", nil)); err != nil {
					t.Fatal(err)
				}
			} else if cur, err = e.src.Get(ctx, controlloop.KeyOf(cur)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// metaPtr holds its metadata behind a pointer, which New refuses.
type metaPtr struct{ *controlloop.ObjectMeta }

func (m *metaPtr) GetObjectMeta() *controlloop.ObjectMeta { return m.ObjectMeta }

type notStruct map[string]string

func (notStruct) GetNamespace() string                   { return "" }
func (notStruct) GetName() string                        { return "" }
func (notStruct) GetResourceVersion() string             { return "" }
func (notStruct) GetObjectMeta() *controlloop.ObjectMeta { return nil }

// TestNewRejectsBadInput: New refuses a nil client, a bad prefix and an
// unusable type with ErrInvalid, naming the field or the type and the rule.
func TestNewRejectsBadInput(t *testing.T) {
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{"127.0.0.1:1"}, DialTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = etcd.New[*Pod](nil, etcd.Options{Prefix: "/p"})
	wantInvalid(t, "nil client", err, "etcd: New: nil client")
	for p, want := range map[string]string{
		"":       `etcd: Options.Prefix is "": must name a key prefix`,
		"/":      `etcd: Options.Prefix is "/": must name a key prefix`,
		"a\x00b": `etcd: Options.Prefix is "a\x00b": must not contain a NUL byte`,
	} {
		_, err := etcd.New[*Pod](c, etcd.Options{Prefix: p})
		wantInvalid(t, fmt.Sprintf("prefix %q", p), err, want)
	}
	_, err = etcd.New[*Pod](c, etcd.Options{Prefix: "/p", UnavailableAfter: -time.Second})
	wantInvalid(t, "negative UnavailableAfter", err, "etcd: Options.UnavailableAfter is -1s: must not be negative")
	_, err = etcd.New[notStruct](c, etcd.Options{Prefix: "/p"})
	wantInvalid(t, "non-pointer T", err, "must be a pointer to a struct")
	_, err = etcd.New[*metaPtr](c, etcd.Options{Prefix: "/p"})
	wantInvalid(t, "metadata behind a pointer", err, "GetObjectMeta must not return nil on a zero value")
	src, err := etcd.New[*Pod](c, etcd.Options{Prefix: "/p/"})
	if err != nil || src.Prefix() != "/p" || src.Key(controlloop.Key{Name: "x"}) != "/p//x" {
		t.Errorf("prefix with trailing slash: %v %q", err, src.Prefix())
	}
}

// TestZeroSourceAndElector: a Source or an Elector not made by its
// constructor (nil or zero), and a Source fenced by one, fail every call
// with ErrInvalid instead of panicking; a fenced write never goes out
// unfenced.
func TestZeroSourceAndElector(t *testing.T) {
	ctx := t.Context()
	key := controlloop.Key{Name: "x"}
	for name, s := range map[string]*etcd.Source[*Pod]{"nil": nil, "zero": new(etcd.Source[*Pod])} {
		calls := map[string]func() error{
			"Get":             func() error { _, err := s.Get(ctx, key); return err },
			"List":            func() error { _, err := s.List(ctx, controlloop.ListOptions{}); return err },
			"Watch":           func() error { _, err := s.Watch(ctx, controlloop.WatchOptions{}); return err },
			"RequestProgress": func() error { return s.RequestProgress(ctx) },
			"Create":          func() error { _, err := s.Create(ctx, pod("", "x", nil)); return err },
			"Update":          func() error { _, err := s.Update(ctx, pod("", "x", nil)); return err },
			"UpdateStatus":    func() error { _, err := s.UpdateStatus(ctx, pod("", "x", nil)); return err },
			"Delete":          func() error { return s.Delete(ctx, key, controlloop.DeleteOptions{}) },
		}
		for call, f := range calls {
			wantInvalid(t, name+" Source: "+call, f(), "Source not made by New")
		}
	}
	if (*etcd.Source[*Pod])(nil).Fenced(nil) != nil {
		t.Error("Fenced of a nil Source is not nil")
	}
	e := newEnv(t, etcdtest.Options{})
	for name, el := range map[string]*etcd.Elector{"nil": nil, "zero": new(etcd.Elector)} {
		_, err := el.Lead(ctx)
		wantInvalid(t, name+" Elector: Lead", err, "Elector not made by NewElector")
		_, err = el.Leader(ctx)
		wantInvalid(t, name+" Elector: Leader", err, "Elector not made by NewElector")
		if el.Leading() {
			t.Errorf("%s Elector: Leading", name)
		}
		el.Wait()
		_, err = e.src.Fenced(el).Create(ctx, pod("", "fenced-"+name, nil))
		wantInvalid(t, "Source fenced by a "+name+" Elector: Create", err, "Elector not made by NewElector")
	}
	if _, err := e.src.Get(ctx, controlloop.Key{Name: "fenced-nil"}); !errors.Is(err, controlloop.ErrNotFound) {
		t.Errorf("a write fenced by a nil Elector reached etcd: Get: %v", err)
	}
}

// TestListPagingPinnedRevision: every page of a list is read at the
// revision of the first; writes between pages do not show, and later
// pages report the first page's revision, not their own header's.
func TestListPagingPinnedRevision(t *testing.T) {
	e := newEnv(t, etcdtest.Options{})
	ctx := testContext(t, 30*time.Second)
	want := map[string]bool{}
	for i := range 10 {
		p, err := e.src.Create(ctx, pod("ns", fmt.Sprintf("p%02d", i), nil))
		if err != nil {
			t.Fatal(err)
		}
		want[p.Name+"@"+p.ResourceVersion] = true
	}

	opts := controlloop.ListOptions{Limit: 3}
	got := map[string]bool{}
	var listRV string
	pages := 0
	for {
		res, err := e.src.List(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if listRV == "" {
			listRV = res.ResourceVersion
		} else if res.ResourceVersion != listRV {
			t.Errorf("page %d at version %s, first page at %s", pages, res.ResourceVersion, listRV)
		}
		if len(res.Items) > 3 {
			t.Errorf("page %d has %d items, limit 3", pages, len(res.Items))
		}
		for _, p := range res.Items {
			got[p.Name+"@"+p.ResourceVersion] = true
		}
		if res.Continue == "" {
			break
		}
		// Writes between pages: a new object that sorts last, an update and
		// a delete of objects on later pages.
		if _, err := e.src.Create(ctx, pod("ns", fmt.Sprintf("z%02d", pages), nil)); err != nil {
			t.Fatal(err)
		}
		if pages == 1 {
			p, _ := e.src.Get(ctx, controlloop.Key{Namespace: "ns", Name: "p08"})
			if _, err := e.src.Update(ctx, p); err != nil {
				t.Fatal(err)
			}
			if err := e.src.Delete(ctx, controlloop.Key{Namespace: "ns", Name: "p09"}, controlloop.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		opts.Continue = res.Continue
	}
	if pages != 4 {
		t.Errorf("%d pages, want 4", pages)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("paged list differs from the state at its first page (-want +got):\n%s", diff)
	}
}

func TestListSelectors(t *testing.T) {
	e := newEnv(t, etcdtest.Options{})
	ctx := testContext(t, 30*time.Second)
	for i := range 12 {
		ns := []string{"", "a", "b"}[i%3]
		labels := map[string]string{"n": strconv.Itoa(i % 2)}
		if _, err := e.src.Create(ctx, pod(ns, fmt.Sprintf("p%02d", i), labels)); err != nil {
			t.Fatal(err)
		}
	}
	names := func(sel controlloop.Selector, limit int) []string {
		t.Helper()
		var out []string
		opts := controlloop.ListOptions{Selector: sel, Limit: limit}
		for {
			res, err := e.src.List(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			if limit > 0 && len(res.Items) > limit {
				t.Errorf("page of %d items, limit %d", len(res.Items), limit)
			}
			if limit > 0 && res.Continue != "" && len(res.Items) < limit {
				t.Errorf("short page of %d items (limit %d) before the last", len(res.Items), limit)
			}
			for _, p := range res.Items {
				out = append(out, controlloop.KeyOf(p).String())
			}
			if res.Continue == "" {
				return out
			}
			opts.Continue = res.Continue
		}
	}
	tests := []struct {
		sel  controlloop.Selector
		want []string
	}{
		{controlloop.Selector{}, []string{"p00", "p03", "p06", "p09", "a/p01", "a/p04", "a/p07", "a/p10", "b/p02", "b/p05", "b/p08", "b/p11"}},
		{controlloop.Selector{Namespace: "a"}, []string{"a/p01", "a/p04", "a/p07", "a/p10"}},
		{controlloop.Selector{Labels: map[string]string{"n": "1"}}, []string{"p03", "p09", "a/p01", "a/p07", "b/p05", "b/p11"}},
		{controlloop.Selector{Namespace: "b", Labels: map[string]string{"n": "0"}}, []string{"b/p02", "b/p08"}},
		{controlloop.Selector{Namespace: "c"}, nil},
	}
	for _, tt := range tests {
		for _, limit := range []int{0, 1, 2, 5} {
			if diff := cmp.Diff(tt.want, names(tt.sel, limit)); diff != "" {
				t.Errorf("selector %+v limit %d (-want +got):\n%s", tt.sel, limit, diff)
			}
		}
	}
}

func TestListContinueErrors(t *testing.T) {
	e := newEnv(t, etcdtest.Options{})
	ctx := testContext(t, 30*time.Second)
	for i := range 4 {
		if _, err := e.src.Create(ctx, pod("a", fmt.Sprintf("p%d", i), nil)); err != nil {
			t.Fatal(err)
		}
	}
	res, err := e.src.List(ctx, controlloop.ListOptions{Limit: 2, Selector: controlloop.Selector{Namespace: "a"}})
	if err != nil || res.Continue == "" {
		t.Fatalf("first page: %v, continue %q", err, res.Continue)
	}
	if _, err := e.src.List(ctx, controlloop.ListOptions{Limit: 2, Continue: res.Continue}); !errors.Is(err, controlloop.ErrInvalid) {
		t.Errorf("token of another namespace: %v, want ErrInvalid", err)
	}
	for _, tok := range []string{"garbage!", "e30", "eyJyZXYiOjAsImFmdGVyIjoieCJ9"} {
		if _, err := e.src.List(ctx, controlloop.ListOptions{Limit: 2, Continue: tok}); !errors.Is(err, controlloop.ErrInvalid) {
			t.Errorf("token %q: %v, want ErrInvalid", tok, err)
		}
	}
	if _, err := e.src.List(ctx, controlloop.ListOptions{Limit: -1}); !errors.Is(err, controlloop.ErrInvalid) {
		t.Errorf("negative limit: %v, want ErrInvalid", err)
	}
	// Compact past the list's revision: the token expires.
	p, err := e.src.Create(ctx, pod("a", "later", nil))
	if err != nil {
		t.Fatal(err)
	}
	rev, _ := strconv.ParseInt(p.ResourceVersion, 10, 64)
	if _, err := e.client.Compact(ctx, rev); err != nil {
		t.Fatal(err)
	}
	_, err = e.src.List(ctx, controlloop.ListOptions{Limit: 2, Selector: controlloop.Selector{Namespace: "a"}, Continue: res.Continue})
	if !errors.Is(err, controlloop.ErrExpired) {
		t.Errorf("continue after compaction: %v, want ErrExpired", err)
	}
	// The next page starts at the last key + "\x00" (issue 13, item 6): the
	// message quotes it rather than printing a raw NUL byte.
	if err != nil && (strings.ContainsRune(err.Error(), 0) || !strings.Contains(err.Error(), `p1\x00"`)) {
		t.Errorf("continue after compaction: message %q: want the start key quoted, no raw NUL", err)
	}
}
