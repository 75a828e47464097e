package sourcetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"time"

	"github.com/controlloop/controlloop"
)

// isNil reports whether v is a nil interface or holds a nil pointer.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	r := reflect.ValueOf(v)
	return r.Kind() == reflect.Pointer && r.IsNil()
}

// object returns a new object with the key and a copy of labels.
func (e *env[T]) object(key controlloop.Key, labels map[string]string) T {
	obj := e.s.opts.NewObject(key)
	if isNil(obj) || obj.GetObjectMeta() == nil {
		e.t.Fatalf("Options.NewObject(%v) returned an object without metadata", key)
	}
	meta := obj.GetObjectMeta()
	if got := controlloop.KeyOf(obj); got != key {
		e.t.Fatalf("Options.NewObject(%v) returned an object with key %v", key, got)
	}
	meta.Labels = maps.Clone(labels)
	return obj
}

// create creates an object with the key and labels, failing the rule if
// it cannot.
func (e *env[T]) create(key controlloop.Key, labels map[string]string) T {
	e.t.Helper()
	got, err := e.b.Create(e.ctx, e.object(key, labels))
	if err != nil {
		e.t.Fatalf("Create(%v): %v", key, err)
	}
	return got
}

// relabel updates obj (with Update, or UpdateStatus if status) to carry
// labels, failing the rule if it cannot.
func (e *env[T]) relabel(obj T, labels map[string]string, status bool) T {
	e.t.Helper()
	c := e.clone(obj)
	c.GetObjectMeta().Labels = maps.Clone(labels)
	op, write := "Update", e.b.Update
	if status {
		op, write = "UpdateStatus", e.b.UpdateStatus
	}
	got, err := write(e.ctx, c)
	if err != nil {
		e.t.Fatalf("%s(%v): %v", op, controlloop.KeyOf(obj), err)
	}
	return got
}

// remove deletes the object with the key, failing the rule if it cannot.
func (e *env[T]) remove(key controlloop.Key) {
	e.t.Helper()
	if err := e.b.Delete(e.ctx, key, controlloop.DeleteOptions{}); err != nil {
		e.t.Fatalf("Delete(%v): %v", key, err)
	}
}

// clone returns a copy of obj that shares no memory the suite writes to:
// the metadata's labels and owner references are copied.
func (e *env[T]) clone(obj T) T {
	c := reflect.New(reflect.TypeOf(obj).Elem())
	c.Elem().Set(reflect.ValueOf(obj).Elem())
	out := c.Interface().(T)
	meta := out.GetObjectMeta()
	if meta == obj.GetObjectMeta() {
		e.t.Fatalf("%T holds its ObjectMeta behind a pointer: give Options.NewObject a type that embeds it", obj)
	}
	meta.Labels = maps.Clone(meta.Labels)
	meta.OwnerReferences = slices.Clone(meta.OwnerReferences)
	return out
}

// list lists everything opts selects, page by page, failing the rule on an
// error. It returns the items and the version of the first page.
func (e *env[T]) list(opts controlloop.ListOptions) ([]T, string) {
	e.t.Helper()
	var items []T
	var rv string
	for {
		res, err := e.b.List(e.ctx, opts)
		if err != nil {
			e.t.Fatalf("List(%+v): %v", opts, err)
		}
		if rv == "" {
			rv = res.ResourceVersion
		}
		items = append(items, res.Items...)
		if res.Continue == "" {
			return items, rv
		}
		opts.Continue = res.Continue
	}
}

// wantErr fails the rule unless err wraps want.
func (e *env[T]) wantErr(what string, err, want error) {
	e.t.Helper()
	if !errors.Is(err, want) {
		e.t.Errorf("%s: got error %v, want one wrapping %v", what, err, want)
	}
}

// stream is an open watch.
type stream[T controlloop.Object] struct {
	e      *env[T]
	opts   controlloop.WatchOptions
	ch     <-chan controlloop.Event[T]
	cancel context.CancelFunc
}

// watch opens a watch, failing the rule on an error. Stop it with close.
func (e *env[T]) watch(opts controlloop.WatchOptions) *stream[T] {
	e.t.Helper()
	ctx, cancel := context.WithCancel(e.ctx)
	ch, err := e.b.Watch(ctx, opts)
	if err != nil {
		cancel()
		e.t.Fatalf("Watch(%+v): %v", opts, err)
	}
	if ch == nil {
		cancel()
		e.t.Fatalf("Watch(%+v) returned neither a channel nor an error", opts)
	}
	return &stream[T]{e: e, opts: opts, ch: ch, cancel: cancel}
}

// next returns the next event, or ok false if the channel closed. It fails
// the rule if nothing comes before the rule's deadline, and checks the
// event's form.
func (w *stream[T]) next() (ev controlloop.Event[T], ok bool) {
	w.e.t.Helper()
	select {
	case ev, ok = <-w.ch:
	case <-w.e.ctx.Done():
		w.e.t.Fatalf("watch %+v: no event before the rule's deadline (Options.Timeout)", w.opts)
	}
	if ok {
		w.checkForm(ev)
	}
	return ev, ok
}

// within returns the next event if one comes within d.
func (w *stream[T]) within(d time.Duration) (ev controlloop.Event[T], ok bool) {
	w.e.t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case ev, ok = <-w.ch:
		if !ok {
			w.e.t.Fatalf("watch %+v closed while a bookmark was awaited", w.opts)
		}
		w.checkForm(ev)
		return ev, true
	case <-timer.C:
		return ev, false
	case <-w.e.ctx.Done():
		w.e.t.Fatalf("watch %+v: no event before the rule's deadline (Options.Timeout)", w.opts)
		return ev, false
	}
}

// checkForm checks what every event must be: a known type; an object with
// a valid key, carrying the event's non-empty version, for a change; a
// version and no object for a bookmark, only if asked for; an error for
// an Error.
func (w *stream[T]) checkForm(ev controlloop.Event[T]) {
	w.e.t.Helper()
	switch ev.Type {
	case controlloop.Added, controlloop.Modified, controlloop.Deleted:
		switch {
		case controlloop.IsNil(ev.Object) || ev.Object.GetObjectMeta() == nil:
			w.e.t.Fatalf("watch %+v: %v event at %q without an object", w.opts, ev.Type, ev.ResourceVersion)
		case ev.ResourceVersion == "":
			w.e.t.Fatalf("watch %+v: %v event of %v without a version", w.opts, ev.Type, controlloop.KeyOf(ev.Object))
		case ev.Object.GetResourceVersion() != ev.ResourceVersion:
			w.e.t.Fatalf("watch %+v: %v event at %s carries an object at version %s", w.opts, ev.Type, ev.ResourceVersion, ev.Object.GetResourceVersion())
		case !w.opts.Selector.Matches(ev.Object):
			w.e.t.Fatalf("watch %+v: %v event of %v, which the selector does not match (labels %v)", w.opts, ev.Type, controlloop.KeyOf(ev.Object), ev.Object.GetObjectMeta().Labels)
		}
	case controlloop.Bookmark:
		switch {
		case !w.opts.AllowBookmarks:
			w.e.t.Fatalf("watch %+v: a Bookmark at %s, which the watch did not allow", w.opts, ev.ResourceVersion)
		case ev.ResourceVersion == "":
			w.e.t.Fatalf("watch %+v: a Bookmark without a version", w.opts)
		}
	case controlloop.Error:
		if ev.Err == nil {
			w.e.t.Fatalf("watch %+v: an Error event without an error", w.opts)
		}
	default:
		w.e.t.Fatalf("watch %+v: an event of unknown type %v", w.opts, ev.Type)
	}
}

// change returns the next event, which must be a change (bookmarks are
// skipped).
func (w *stream[T]) change() controlloop.Event[T] {
	w.e.t.Helper()
	for {
		ev, ok := w.next()
		switch {
		case !ok:
			w.e.t.Fatalf("watch %+v closed while a change was awaited", w.opts)
		case ev.Type == controlloop.Error:
			w.e.t.Fatalf("watch %+v ended with an error while a change was awaited: %v", w.opts, ev.Err)
		case ev.Type != controlloop.Bookmark:
			return ev
		}
	}
}

// changes returns the next n changes.
func (w *stream[T]) changes(n int) []seen {
	w.e.t.Helper()
	out := make([]seen, 0, n)
	for range n {
		out = append(out, seenOf(w.change()))
	}
	return out
}

// until returns the changes up to and including the next change of the
// key, which is how a rule knows that nothing else came before it.
func (w *stream[T]) until(key controlloop.Key) []seen {
	w.e.t.Helper()
	var out []seen
	for {
		ev := w.change()
		out = append(out, seenOf(ev))
		if controlloop.KeyOf(ev.Object) == key {
			return out
		}
	}
}

// close stops the watch and waits for its channel to close.
func (w *stream[T]) close() {
	w.e.t.Helper()
	w.cancel()
	for {
		select {
		case _, ok := <-w.ch:
			if !ok {
				return
			}
		case <-time.After(w.e.s.opts.Timeout):
			w.e.t.Fatalf("watch %+v: channel still open %v after its context was cancelled", w.opts, w.e.s.opts.Timeout)
		}
	}
}

// seen is what a rule compares of a change: its type, key, version and
// labels.
type seen struct {
	Type   string
	Key    string
	RV     string
	Labels string
}

func seenOf[T controlloop.Object](ev controlloop.Event[T]) seen {
	return seen{Type: ev.Type.String(), Key: controlloop.KeyOf(ev.Object).String(), RV: ev.ResourceVersion, Labels: labelString(ev.Object.GetObjectMeta().Labels)}
}

// wrote is the change a write is expected to produce.
func wrote[T controlloop.Object](typ controlloop.EventType, obj T, rv string) seen {
	return seen{Type: typ.String(), Key: controlloop.KeyOf(obj).String(), RV: rv, Labels: labelString(obj.GetObjectMeta().Labels)}
}

func labelString(labels map[string]string) string {
	keys := slices.Sorted(maps.Keys(labels))
	s := ""
	for _, k := range keys {
		if s != "" {
			s += ","
		}
		s += k + "=" + labels[k]
	}
	return s
}

func keyOf(ns, name string) controlloop.Key { return controlloop.Key{Namespace: ns, Name: name} }

func label(v string) map[string]string { return map[string]string{"app": v} }

// keysOf returns the keys of objs, in order.
func keysOf[T controlloop.Object](objs []T) []controlloop.Key {
	out := make([]controlloop.Key, len(objs))
	for i, o := range objs {
		out[i] = controlloop.KeyOf(o)
	}
	return out
}

func describe(v any) string { return fmt.Sprintf("%+v", v) }
