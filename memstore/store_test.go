package memstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/memstore"
	"github.com/google/go-cmp/cmp"
)

func TestCreateStampsVersionUIDGeneration(t *testing.T) {
	s := must(memstore.New[*Pod](memstore.Options{}))
	ctx := context.Background()
	in := pod("ns", "a", nil)
	in.Generation, in.UID = 7, "mine"
	a, err := s.Create(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if a.ResourceVersion != "1" || a.Generation != 1 || a.UID == "" || a.UID == "mine" {
		t.Errorf("created %+v; want version 1, generation 1, a store UID", a.ObjectMeta)
	}
	if in.ResourceVersion != "" || in.Generation != 7 {
		t.Errorf("Create modified its argument: %+v", in.ObjectMeta)
	}
	b := mustCreate(t, s, pod("ns", "b", nil))
	if b.ResourceVersion != "2" || b.UID == a.UID {
		t.Errorf("second object %+v; want version 2 and a UID other than %q", b.ObjectMeta, a.UID)
	}
	if got := s.ResourceVersion(); got != "2" {
		t.Errorf("ResourceVersion() = %q, want 2", got)
	}
}

func TestWriteErrors(t *testing.T) {
	ctx := context.Background()
	s := must(memstore.New[*Pod](memstore.Options{}))
	a := mustCreate(t, s, pod("ns", "a", nil))
	stale := a.DeepCopy()
	if _, err := s.Update(ctx, a); err != nil {
		t.Fatal(err)
	}
	other := a.DeepCopy()
	other.UID = "someone-else"
	other.ResourceVersion = "2"
	var nilPod *Pod
	withRV := pod("ns", "new", nil)
	withRV.ResourceVersion = "5"
	noRV := pod("ns", "a", nil)
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"create existing", second(s.Create(ctx, pod("ns", "a", nil))), controlloop.ErrAlreadyExists},
		{"create nil", second(s.Create(ctx, nilPod)), controlloop.ErrInvalid},
		{"create empty name", second(s.Create(ctx, pod("ns", "", nil))), controlloop.ErrInvalid},
		{"create with version", second(s.Create(ctx, withRV)), controlloop.ErrInvalid},
		{"update stale", second(s.Update(ctx, stale)), controlloop.ErrConflict},
		{"update status stale", second(s.UpdateStatus(ctx, stale)), controlloop.ErrConflict},
		{"update other UID", second(s.Update(ctx, other)), controlloop.ErrConflict},
		{"update without version", second(s.Update(ctx, noRV)), controlloop.ErrInvalid},
		{"update missing", second(s.Update(ctx, &Pod{ObjectMeta: controlloop.ObjectMeta{Name: "x", ResourceVersion: "1"}})), controlloop.ErrNotFound},
		{"update nil", second(s.Update(ctx, nilPod)), controlloop.ErrInvalid},
		{"get missing", second(s.Get(ctx, controlloop.Key{Name: "x"})), controlloop.ErrNotFound},
		{"get empty name", second(s.Get(ctx, controlloop.Key{})), controlloop.ErrInvalid},
		{"delete missing", s.Delete(ctx, controlloop.Key{Name: "x"}, controlloop.DeleteOptions{}), controlloop.ErrNotFound},
		{"delete stale precondition", s.Delete(ctx, controlloop.KeyOf(a), controlloop.DeleteOptions{ResourceVersion: "1"}), controlloop.ErrConflict},
		{"delete empty name", s.Delete(ctx, controlloop.Key{Namespace: "ns"}, controlloop.DeleteOptions{}), controlloop.ErrInvalid},
	}
	for _, c := range cases {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.err, c.want)
		}
	}
	if got := s.ResourceVersion(); got != "2" {
		t.Errorf("failed writes changed the version: %s, want 2", got)
	}
}

func second[T any](_ T, err error) error { return err }

func TestUpdateGeneration(t *testing.T) {
	ctx := context.Background()
	s := must(memstore.New[*Pod](memstore.Options{}))
	p := mustCreate(t, s, pod("", "a", nil))
	p.Spec = "v2"
	p, err := s.Update(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if p.Generation != 2 || p.ResourceVersion != "2" {
		t.Fatalf("after Update: %+v, want generation 2 at version 2", p.ObjectMeta)
	}
	p.Status = "ready"
	p.Generation = 40 // ignored: the store owns it
	p, err = s.UpdateStatus(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if p.Generation != 2 || p.ResourceVersion != "3" || p.Status != "ready" {
		t.Fatalf("after UpdateStatus: %+v, want generation 2 at version 3", p)
	}
	got, err := s.Get(ctx, controlloop.KeyOf(p))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, got); diff != "" {
		t.Errorf("Get differs from the update's result (-update +get):\n%s", diff)
	}
}

func TestDeleteWithPrecondition(t *testing.T) {
	ctx := context.Background()
	s := must(memstore.New[*Pod](memstore.Options{}))
	p := mustCreate(t, s, pod("", "a", nil))
	if err := s.Delete(ctx, controlloop.KeyOf(p), controlloop.DeleteOptions{ResourceVersion: p.ResourceVersion}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, controlloop.KeyOf(p)); !errors.Is(err, controlloop.ErrNotFound) {
		t.Errorf("Get after Delete: %v, want ErrNotFound", err)
	}
	if s.Len() != 0 || s.ResourceVersion() != "2" {
		t.Errorf("Len %d at version %s, want 0 at 2", s.Len(), s.ResourceVersion())
	}
}

func TestIsolation(t *testing.T) {
	ctx := context.Background()
	s := must(memstore.New[*Pod](memstore.Options{}))
	in := pod("", "a", map[string]string{"app": "web"})
	out := mustCreate(t, s, in)
	in.Labels["app"] = "changed-input"
	out.Labels["app"] = "changed-output"
	got, err := s.Get(ctx, controlloop.KeyOf(in))
	if err != nil {
		t.Fatal(err)
	}
	got.Labels["app"] = "changed-get"
	for _, p := range s.All() {
		if p.Labels["app"] != "web" {
			t.Fatalf("store object changed through a caller's copy: %v", p.Labels)
		}
		p.Labels["app"] = "changed-all"
	}
	res, err := s.List(ctx, controlloop.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != 1 || res.Items[0].Labels["app"] != "web" {
		t.Fatalf("List = %+v, want the original labels", res.Items)
	}
}

func TestContextDone(t *testing.T) {
	s := must(memstore.New[*Pod](memstore.Options{}))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Create(ctx, pod("", "a", nil)); !errors.Is(err, context.Canceled) {
		t.Errorf("Create: %v, want context.Canceled", err)
	}
	if _, err := s.List(ctx, controlloop.ListOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("List: %v, want context.Canceled", err)
	}
	if _, err := s.Watch(ctx, controlloop.WatchOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Watch: %v, want context.Canceled", err)
	}
}
