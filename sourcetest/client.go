package sourcetest

import (
	"context"
	"reflect"

	"github.com/controlloop/controlloop"
	"github.com/google/go-cmp/cmp"
)

// checkCreate: Create stores a new object and returns it as stored, with a
// version, a UID and Generation 1 (whatever the caller set); it refuses a
// taken key, a version, a nil object and invalid keys; it leaves its
// argument alone, and the store keeps nothing the caller can still change.
func (s *suite[T]) checkCreate(t tb) {
	e, cancel := s.start(t)
	defer cancel()
	key := keyOf("ns", "a")
	in := e.object(key, label("1"))
	in.GetObjectMeta().UID = "caller-uid"
	in.GetObjectMeta().Generation = 7
	before := e.clone(in)
	got, err := e.b.Create(e.ctx, in)
	if err != nil {
		t.Fatalf("Create(%v): %v", key, err)
	}
	if diff := cmp.Diff(before, in, exportAll()); diff != "" {
		t.Errorf("Create modified its argument (-before +after):\n%s", diff)
	}
	meta := got.GetObjectMeta()
	switch {
	case controlloop.KeyOf(got) != key:
		t.Errorf("Create returned key %v, want %v", controlloop.KeyOf(got), key)
	case meta.ResourceVersion == "":
		t.Errorf("Create returned no resource version")
	case meta.UID == "" || meta.UID == "caller-uid":
		t.Errorf("Create returned UID %q: the store sets it", meta.UID)
	case meta.Generation != 1:
		t.Errorf("Create returned Generation %d, want 1 (the store sets it)", meta.Generation)
	case labelString(meta.Labels) != "app=1":
		t.Errorf("Create returned labels %v, want app=1", meta.Labels)
	}
	// Neither the argument nor the result is the stored object.
	in.GetObjectMeta().Labels["app"] = "changed-argument"
	got.GetObjectMeta().Labels["app"] = "changed-result"
	if stored := e.get(key); labelString(stored.GetObjectMeta().Labels) != "app=1" || stored.GetResourceVersion() != meta.ResourceVersion || stored.GetObjectMeta().UID != meta.UID {
		t.Errorf("Get after Create = labels %v, version %s, UID %s; want app=1, %s, %s", stored.GetObjectMeta().Labels, stored.GetResourceVersion(), stored.GetObjectMeta().UID, meta.ResourceVersion, meta.UID)
	}

	_, err = e.b.Create(e.ctx, e.object(key, nil))
	e.wantErr("Create of a taken key", err, controlloop.ErrAlreadyExists)
	withRV := e.object(keyOf("ns", "b"), nil)
	withRV.GetObjectMeta().ResourceVersion = meta.ResourceVersion
	_, err = e.b.Create(e.ctx, withRV)
	e.wantErr("Create of an object carrying a resource version", err, controlloop.ErrInvalid)
	var none T
	_, err = e.b.Create(e.ctx, none)
	e.wantErr("Create(nil)", err, controlloop.ErrInvalid)
	for _, bad := range []controlloop.Key{{Namespace: "ns"}, {Namespace: "ns", Name: "x/y"}, {Namespace: "n/s", Name: "x"}} {
		obj := e.object(controlloop.Key{}, nil)
		obj.GetObjectMeta().Namespace, obj.GetObjectMeta().Name = bad.Namespace, bad.Name
		_, err = e.b.Create(e.ctx, obj)
		e.wantErr("Create of key "+describe(bad), err, controlloop.ErrInvalid)
	}
	if items, _ := e.list(controlloop.ListOptions{}); len(items) != 1 {
		t.Errorf("after one good Create and refused ones, List has %v", keysOf(items))
	}
}

// get reads the object with the key, failing the rule if it cannot.
func (e *env[T]) get(key controlloop.Key) T {
	e.t.Helper()
	got, err := e.b.Get(e.ctx, key)
	if err != nil {
		e.t.Fatalf("Get(%v): %v", key, err)
	}
	return got
}

// checkGet: Get returns the stored object, a missing key fails with
// ErrNotFound, an invalid key with ErrInvalid, and changing a returned
// object changes nothing stored.
func (s *suite[T]) checkGet(t tb) {
	e, cancel := s.start(t)
	defer cancel()
	created := e.create(keyOf("", "cluster-wide"), label("1"))
	e.create(keyOf("ns", "cluster-wide"), label("2"))
	got := e.get(keyOf("", "cluster-wide"))
	if got.GetResourceVersion() != created.GetResourceVersion() || labelString(got.GetObjectMeta().Labels) != "app=1" {
		t.Errorf("Get of an object with no namespace = version %s, labels %v; want %s, app=1", got.GetResourceVersion(), got.GetObjectMeta().Labels, created.GetResourceVersion())
	}
	got.GetObjectMeta().Labels["app"] = "changed"
	if again := e.get(keyOf("", "cluster-wide")); labelString(again.GetObjectMeta().Labels) != "app=1" {
		t.Errorf("changing an object Get returned changed the stored one: labels %v", again.GetObjectMeta().Labels)
	}
	if other := e.get(keyOf("ns", "cluster-wide")); labelString(other.GetObjectMeta().Labels) != "app=2" {
		t.Errorf("Get(ns/cluster-wide) = labels %v, want app=2: namespaces must keep objects apart", other.GetObjectMeta().Labels)
	}
	_, err := e.b.Get(e.ctx, keyOf("ns", "missing"))
	e.wantErr("Get of a missing key", err, controlloop.ErrNotFound)
	_, err = e.b.Get(e.ctx, keyOf("other", "cluster-wide"))
	e.wantErr("Get of a name in another namespace", err, controlloop.ErrNotFound)
	_, err = e.b.Get(e.ctx, keyOf("ns", ""))
	e.wantErr("Get of an empty name", err, controlloop.ErrInvalid)
	_, err = e.b.Get(e.ctx, keyOf("ns", "a/b"))
	e.wantErr("Get of a name with '/'", err, controlloop.ErrInvalid)
}

// checkUpdate: Update needs the current version, makes a new one, keeps
// the UID, increases Generation by one (whatever the caller set) and
// leaves its argument alone; a stale version or another UID conflicts, a
// missing object is not found, and an empty version is refused.
func (s *suite[T]) checkUpdate(t tb) {
	e, cancel := s.start(t)
	defer cancel()
	key := keyOf("ns", "a")
	v1 := e.create(key, label("1"))
	in := e.clone(v1)
	in.GetObjectMeta().Labels = label("2")
	in.GetObjectMeta().Generation = 40
	before := e.clone(in)
	v2, err := e.b.Update(e.ctx, in)
	if err != nil {
		t.Fatalf("Update(%v): %v", key, err)
	}
	if diff := cmp.Diff(before, in, exportAll()); diff != "" {
		t.Errorf("Update modified its argument (-before +after):\n%s", diff)
	}
	m1, m2 := v1.GetObjectMeta(), v2.GetObjectMeta()
	switch {
	case m2.ResourceVersion == "" || m2.ResourceVersion == m1.ResourceVersion:
		t.Errorf("Update returned version %q after %q: every write makes a new version", m2.ResourceVersion, m1.ResourceVersion)
	case m2.UID != m1.UID:
		t.Errorf("Update changed the UID from %q to %q", m1.UID, m2.UID)
	case m2.Generation != m1.Generation+1:
		t.Errorf("Update returned Generation %d after %d, want %d (the store counts)", m2.Generation, m1.Generation, m1.Generation+1)
	case labelString(m2.Labels) != "app=2":
		t.Errorf("Update returned labels %v, want app=2", m2.Labels)
	}
	if got := e.get(key); got.GetResourceVersion() != m2.ResourceVersion || got.GetObjectMeta().Generation != m2.Generation || labelString(got.GetObjectMeta().Labels) != "app=2" {
		t.Errorf("Get after Update = version %s, Generation %d, labels %v; want %s, %d, app=2", got.GetResourceVersion(), got.GetObjectMeta().Generation, got.GetObjectMeta().Labels, m2.ResourceVersion, m2.Generation)
	}
	// Unchanged content still makes a new version.
	v3, err := e.b.Update(e.ctx, e.clone(v2))
	if err != nil {
		t.Fatalf("Update(%v) with nothing changed: %v", key, err)
	}
	if v3.GetResourceVersion() == m2.ResourceVersion {
		t.Errorf("an Update that changed nothing kept version %s", m2.ResourceVersion)
	}

	_, err = e.b.Update(e.ctx, e.clone(v1))
	e.wantErr("Update from a stale version", err, controlloop.ErrConflict)
	otherUID := e.clone(v3)
	otherUID.GetObjectMeta().UID = "not-" + m1.UID
	_, err = e.b.Update(e.ctx, otherUID)
	e.wantErr("Update carrying another UID", err, controlloop.ErrConflict)
	noRV := e.clone(v3)
	noRV.GetObjectMeta().ResourceVersion = ""
	_, err = e.b.Update(e.ctx, noRV)
	e.wantErr("Update with an empty resource version", err, controlloop.ErrInvalid)
	missing := e.object(keyOf("ns", "missing"), nil)
	missing.GetObjectMeta().ResourceVersion = v3.GetResourceVersion()
	_, err = e.b.Update(e.ctx, missing)
	e.wantErr("Update of a missing object", err, controlloop.ErrNotFound)
	var none T
	_, err = e.b.Update(e.ctx, none)
	e.wantErr("Update(nil)", err, controlloop.ErrInvalid)
	if got := e.get(key); got.GetResourceVersion() != v3.GetResourceVersion() {
		t.Errorf("refused updates changed the object: version %s, want %s", got.GetResourceVersion(), v3.GetResourceVersion())
	}
}

// checkUpdateStatus: UpdateStatus is Update that keeps Generation.
func (s *suite[T]) checkUpdateStatus(t tb) {
	e, cancel := s.start(t)
	defer cancel()
	key := keyOf("ns", "a")
	v1 := e.create(key, label("1"))
	v2 := e.relabel(v1, label("2"), false)
	in := e.clone(v2)
	in.GetObjectMeta().Labels = label("3")
	in.GetObjectMeta().Generation = 40
	v3, err := e.b.UpdateStatus(e.ctx, in)
	if err != nil {
		t.Fatalf("UpdateStatus(%v): %v", key, err)
	}
	m2, m3 := v2.GetObjectMeta(), v3.GetObjectMeta()
	switch {
	case m3.ResourceVersion == "" || m3.ResourceVersion == m2.ResourceVersion:
		t.Errorf("UpdateStatus returned version %q after %q: every write makes a new version", m3.ResourceVersion, m2.ResourceVersion)
	case m3.Generation != m2.Generation:
		t.Errorf("UpdateStatus returned Generation %d, want %d kept", m3.Generation, m2.Generation)
	case m3.UID != m2.UID:
		t.Errorf("UpdateStatus changed the UID from %q to %q", m2.UID, m3.UID)
	case labelString(m3.Labels) != "app=3":
		t.Errorf("UpdateStatus returned labels %v, want app=3: it replaces the object", m3.Labels)
	}
	if got := e.get(key); got.GetObjectMeta().Generation != m2.Generation || got.GetResourceVersion() != m3.ResourceVersion {
		t.Errorf("Get after UpdateStatus = Generation %d, version %s; want %d, %s", got.GetObjectMeta().Generation, got.GetResourceVersion(), m2.Generation, m3.ResourceVersion)
	}
	_, err = e.b.UpdateStatus(e.ctx, e.clone(v2))
	e.wantErr("UpdateStatus from a stale version", err, controlloop.ErrConflict)
	missing := e.object(keyOf("ns", "missing"), nil)
	missing.GetObjectMeta().ResourceVersion = v3.GetResourceVersion()
	_, err = e.b.UpdateStatus(e.ctx, missing)
	e.wantErr("UpdateStatus of a missing object", err, controlloop.ErrNotFound)
}

// checkDelete: Delete removes the object, with an optional version
// precondition; a missing key is not found, a stale precondition
// conflicts and deletes nothing; an object created again under the name
// is a new object, with a new UID.
func (s *suite[T]) checkDelete(t tb) {
	e, cancel := s.start(t)
	defer cancel()
	a, b := keyOf("ns", "a"), keyOf("ns", "b")
	va1 := e.create(a, nil)
	va2 := e.relabel(va1, label("2"), false)
	err := e.b.Delete(e.ctx, a, controlloop.DeleteOptions{ResourceVersion: va1.GetResourceVersion()})
	e.wantErr("Delete with a stale version precondition", err, controlloop.ErrConflict)
	e.get(a)
	if err := e.b.Delete(e.ctx, a, controlloop.DeleteOptions{ResourceVersion: va2.GetResourceVersion()}); err != nil {
		t.Fatalf("Delete(%v) with its current version as precondition: %v", a, err)
	}
	_, err = e.b.Get(e.ctx, a)
	e.wantErr("Get after Delete", err, controlloop.ErrNotFound)
	e.create(b, nil)
	e.remove(b)
	_, err = e.b.Get(e.ctx, b)
	e.wantErr("Get after Delete without precondition", err, controlloop.ErrNotFound)
	err = e.b.Delete(e.ctx, b, controlloop.DeleteOptions{})
	e.wantErr("Delete of a deleted object", err, controlloop.ErrNotFound)
	err = e.b.Delete(e.ctx, keyOf("ns", "never"), controlloop.DeleteOptions{ResourceVersion: va2.GetResourceVersion()})
	e.wantErr("Delete of a missing object with a precondition", err, controlloop.ErrNotFound)
	err = e.b.Delete(e.ctx, keyOf("ns", ""), controlloop.DeleteOptions{})
	e.wantErr("Delete of an empty name", err, controlloop.ErrInvalid)

	again := e.create(a, nil)
	if again.GetObjectMeta().UID == va1.GetObjectMeta().UID {
		t.Errorf("an object created again under a deleted name got the old UID %q", again.GetObjectMeta().UID)
	}
	if again.GetObjectMeta().Generation != 1 {
		t.Errorf("an object created again under a deleted name has Generation %d, want 1", again.GetObjectMeta().Generation)
	}
	_, err = e.b.Update(e.ctx, e.clone(va2))
	e.wantErr("Update carrying the version of a deleted object of the same name", err, controlloop.ErrConflict)
}

// checkCancelled: every call with a cancelled context fails and writes
// nothing.
func (s *suite[T]) checkCancelled(t tb) {
	e, cancel := s.start(t)
	defer cancel()
	key := keyOf("ns", "a")
	v1 := e.create(key, label("1"))
	_, rv := e.list(controlloop.ListOptions{})
	done, stop := context.WithCancel(e.ctx)
	stop()
	changed := e.clone(v1)
	changed.GetObjectMeta().Labels = label("2")
	calls := map[string]func() error{
		"Get":          func() error { _, err := e.b.Get(done, key); return err },
		"List":         func() error { _, err := e.b.List(done, controlloop.ListOptions{}); return err },
		"Create":       func() error { _, err := e.b.Create(done, e.object(keyOf("ns", "b"), nil)); return err },
		"Update":       func() error { _, err := e.b.Update(done, e.clone(changed)); return err },
		"UpdateStatus": func() error { _, err := e.b.UpdateStatus(done, e.clone(changed)); return err },
		"Delete":       func() error { return e.b.Delete(done, key, controlloop.DeleteOptions{}) },
	}
	for name, call := range calls {
		if err := call(); err == nil {
			t.Errorf("%s with a cancelled context succeeded", name)
		}
	}
	ch, err := e.b.Watch(done, controlloop.WatchOptions{ResourceVersion: rv})
	if err == nil {
		// A watch may start and end at once: its channel must close.
		w := &stream[T]{e: e, opts: controlloop.WatchOptions{ResourceVersion: rv}, ch: ch, cancel: func() {}}
		w.close()
	}
	items, _ := e.list(controlloop.ListOptions{})
	if len(items) != 1 || items[0].GetResourceVersion() != v1.GetResourceVersion() {
		t.Errorf("calls with a cancelled context wrote: the list holds %v, want only %v at version %s", keysOf(items), key, v1.GetResourceVersion())
	}
}

// exportAll makes cmp compare unexported fields too.
func exportAll() cmp.Option { return cmp.Exporter(func(reflect.Type) bool { return true }) }
