package sourcetest

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/google/go-cmp/cmp"
)

// entry is one write as the rules record it, to tell what each watch must
// see of it.
type entry struct {
	typ controlloop.EventType // Added, Modified or Deleted
	key controlloop.Key
	// prev and labels are the labels before and after the write; for a
	// delete, labels are the last ones. had says there was a before.
	prev, labels map[string]string
	had          bool
	// rv is the write's version; for a delete, learnt from a watch.
	rv string
}

// expected returns what a watch with sel must see of log: a change that
// brings an object into sel is Added, one that takes it out is Deleted
// with the labels it had, as an API server reports them.
func expected(log []entry, sel controlloop.Selector) []seen {
	var out []seen
	for _, en := range log {
		now := en.typ != controlloop.Deleted && matches(sel, en.key, en.labels)
		was := en.had && matches(sel, en.key, en.prev)
		typ, labels := en.typ, en.labels
		switch {
		case en.typ == controlloop.Deleted:
			if !matches(sel, en.key, en.labels) {
				continue
			}
		case now && was:
		case now:
			typ = controlloop.Added
		case was:
			typ, labels = controlloop.Deleted, en.prev
		default:
			continue
		}
		out = append(out, seen{Type: typ.String(), Key: en.key.String(), RV: en.rv, Labels: labelString(labels)})
	}
	return out
}

// recorder makes writes and records them in a log.
type recorder[T controlloop.Object] struct {
	e   *env[T]
	log []entry
	cur map[controlloop.Key]T
}

func (e *env[T]) recorder() *recorder[T] { return &recorder[T]{e: e, cur: make(map[controlloop.Key]T)} }

func (r *recorder[T]) create(key controlloop.Key, labels map[string]string) T {
	r.e.t.Helper()
	obj := r.e.create(key, labels)
	r.cur[key] = obj
	r.log = append(r.log, entry{typ: controlloop.Added, key: key, labels: maps.Clone(labels), rv: obj.GetResourceVersion()})
	return obj
}

func (r *recorder[T]) update(key controlloop.Key, labels map[string]string) T {
	r.e.t.Helper()
	old := r.cur[key]
	obj := r.e.relabel(old, labels, len(r.log)%2 == 0)
	r.cur[key] = obj
	r.log = append(r.log, entry{typ: controlloop.Modified, key: key, prev: maps.Clone(old.GetObjectMeta().Labels), labels: maps.Clone(labels), had: true, rv: obj.GetResourceVersion()})
	return obj
}

func (r *recorder[T]) delete(key controlloop.Key) {
	r.e.t.Helper()
	old := r.cur[key]
	r.e.remove(key)
	delete(r.cur, key)
	r.log = append(r.log, entry{typ: controlloop.Deleted, key: key, labels: maps.Clone(old.GetObjectMeta().Labels), had: true})
}

// learn fills in the versions of deletes in r.log[from:] from got, what an
// unfiltered watch saw of them, after checking that it saw what it must.
func (r *recorder[T]) learn(from int, got []seen) {
	r.e.t.Helper()
	log := r.log[from:]
	want := expected(log, controlloop.Selector{})
	if len(got) == len(want) {
		for i := range want {
			if want[i].RV == "" && got[i].Type == want[i].Type {
				want[i].RV = got[i].RV
				log[i].rv = got[i].RV
			}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		r.e.t.Fatalf("an unfiltered watch saw (-want +got):\n%s", diff)
	}
	versions := make(map[string]bool)
	for _, s := range got {
		if versions[s.RV] {
			r.e.t.Fatalf("two changes at version %s: %v", s.RV, got)
		}
		versions[s.RV] = true
	}
}

// checkWatchFromList: a watch from a list's version sees every later
// write, once, in order, as Added, Modified or Deleted with the state the
// write left (for a delete, the last state), at the version the write
// returned.
func (s *suite[T]) checkWatchFromList(t tb) {
	e, cancel := s.start(t)
	defer cancel()
	r := e.recorder()
	old := r.create(keyOf("w", "old"), label("0"))
	_, rv := e.list(controlloop.ListOptions{})
	from := len(r.log)
	w := e.watch(controlloop.WatchOptions{ResourceVersion: rv})
	defer w.close()
	a, b := keyOf("w", "a"), keyOf("", "b")
	r.create(a, label("1"))
	r.update(a, label("2"))
	r.update(a, label("3"))
	r.create(b, nil)
	r.delete(a)
	r.delete(controlloop.KeyOf(old))
	r.create(a, label("4"))
	r.learn(from, w.changes(len(r.log)-from))
}

// checkWatchFromNow: a watch from no version sees the writes made after
// Watch returned, not those before.
func (s *suite[T]) checkWatchFromNow(t tb) {
	e, cancel := s.start(t)
	defer cancel()
	e.create(keyOf("w", "before"), nil)
	w := e.watch(controlloop.WatchOptions{})
	defer w.close()
	after := e.create(keyOf("w", "after"), nil)
	if got, want := w.change(), wrote(controlloop.Added, after, after.GetResourceVersion()); seenOf(got) != want {
		t.Errorf("a watch from now saw %+v first, want %+v", seenOf(got), want)
	}
}

// checkWatchResume: a watch from the version of any change sees exactly
// the changes after it: no gap, no duplicate.
func (s *suite[T]) checkWatchResume(t tb) {
	e, cancel := s.start(t)
	defer cancel()
	_, rv := e.list(controlloop.ListOptions{})
	all := e.watch(controlloop.WatchOptions{ResourceVersion: rv})
	defer all.close()
	r := e.recorder()
	a, b := keyOf("r", "a"), keyOf("r", "b")
	r.create(a, nil)
	r.create(b, label("1"))
	r.update(a, label("1"))
	r.delete(b)
	r.update(a, label("2"))
	r.delete(a)
	r.create(b, nil)
	r.learn(0, all.changes(len(r.log)))
	end := keyOf("r", "end")
	r.create(end, nil)
	want := expected(r.log, controlloop.Selector{})
	for i, en := range r.log[:len(r.log)-1] {
		w := e.watch(controlloop.WatchOptions{ResourceVersion: en.rv})
		if diff := cmp.Diff(want[i+1:], w.until(end)); diff != "" {
			t.Errorf("a watch from version %s (change %d) saw (-want +got):\n%s", en.rv, i, diff)
		}
		w.close()
	}
}

// checkWatchSelectors: a watch with a selector sees only the changes of
// objects it selects; a change that brings an object into a label
// selector is Added, one that takes it out is Deleted with the labels it
// had.
func (s *suite[T]) checkWatchSelectors(t tb) {
	e, cancel := s.start(t)
	defer cancel()
	_, rv := e.list(controlloop.ListOptions{})
	sels := []controlloop.Selector{
		{},
		{Namespace: "s"},
		{Labels: label("x")},
		{Namespace: "s", Labels: label("x")},
		{Labels: map[string]string{"app": "x", "tier": "web"}},
	}
	var ws []*stream[T]
	for _, sel := range sels {
		w := e.watch(controlloop.WatchOptions{Selector: sel, ResourceVersion: rv})
		defer w.close()
		ws = append(ws, w)
	}
	r := e.recorder()
	a, b, c := keyOf("s", "a"), keyOf("t", "b"), keyOf("s", "c")
	r.create(a, label("x"))
	r.create(b, label("x"))
	r.create(c, label("y"))
	r.update(c, label("x"))
	r.update(a, label("y"))
	r.update(b, map[string]string{"app": "x", "tier": "web"})
	r.update(b, label("x"))
	r.delete(a)
	r.delete(c)
	r.delete(b)
	end := keyOf("s", "end")
	r.create(end, map[string]string{"app": "x", "tier": "web"})
	r.learn(0, ws[0].changes(len(r.log)))
	for i, sel := range sels[1:] {
		if diff := cmp.Diff(expected(r.log, sel), ws[i+1].until(end)); diff != "" {
			t.Errorf("a watch with %+v saw (-want +got):\n%s", sel, diff)
		}
	}
}

// checkWatchBadInput: a malformed version and a namespace with '/' are
// ErrInvalid, at once or as the watch's first event.
func (s *suite[T]) checkWatchBadInput(t tb) {
	e, cancel := s.start(t)
	defer cancel()
	e.create(keyOf("w", "a"), nil)
	for what, opts := range map[string]controlloop.WatchOptions{
		"a malformed version":  {ResourceVersion: "not a version"},
		"a namespace with '/'": {Selector: controlloop.Selector{Namespace: "w/x"}},
	} {
		e.wantErr("Watch from "+what, e.watchErr(opts), controlloop.ErrInvalid)
	}
}

// watchErr returns the error a watch fails with: Watch's own, or that of
// its first event, which must then be an Error followed by the channel's
// close.
func (e *env[T]) watchErr(opts controlloop.WatchOptions) error {
	e.t.Helper()
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	ch, err := e.b.Watch(ctx, opts)
	if err != nil {
		return err
	}
	w := &stream[T]{e: e, opts: opts, ch: ch, cancel: cancel}
	ev, ok := w.next()
	if !ok || ev.Type != controlloop.Error {
		e.t.Fatalf("Watch(%+v) gave no error at once, and then %v (open %v), want an Error event", opts, ev.Type, ok)
	}
	if _, ok := w.next(); ok {
		e.t.Fatalf("Watch(%+v): an event after the Error event", opts)
	}
	return ev.Err
}

// checkWatchEnds: cancelling a watch's context closes its channel, even
// with changes its consumer never read.
func (s *suite[T]) checkWatchEnds(t tb) {
	e, cancel := s.start(t)
	defer cancel()
	_, rv := e.list(controlloop.ListOptions{})
	idle := e.watch(controlloop.WatchOptions{})
	busy := e.watch(controlloop.WatchOptions{ResourceVersion: rv})
	for _, name := range []string{"a", "b", "c", "d"} {
		e.create(keyOf("w", name), nil)
	}
	busy.change() // the watch is running, with changes pending
	idle.close()
	busy.close()
}

// checkNoBookmarksUnasked: a watch that does not allow bookmarks never
// gets one, even when Options.Progress asks for them.
func (s *suite[T]) checkNoBookmarksUnasked(t tb) {
	e, cancel := s.start(t)
	defer cancel()
	_, rv := e.list(controlloop.ListOptions{})
	w := e.watch(controlloop.WatchOptions{ResourceVersion: rv, Selector: controlloop.Selector{Labels: label("x")}})
	defer w.close()
	e.create(keyOf("b", "filtered"), label("y"))
	if s.opts.Progress != nil {
		if err := s.opts.Progress(e.ctx, e.b); err != nil {
			t.Fatalf("Options.Progress: %v", err)
		}
	}
	end := e.create(keyOf("b", "end"), label("x"))
	// A Bookmark fails the rule in checkForm.
	if got, want := w.until(controlloop.KeyOf(end)), []seen{wrote(controlloop.Added, end, end.GetResourceVersion())}; !cmp.Equal(got, want) {
		t.Errorf("watch saw %v, want %v", got, want)
	}
}

// checkWatchExpired: a watch from a version whose later changes have
// been discarded fails with ErrExpired, at once or as its first event; one
// from the version the history was discarded up to sees the changes after
// it.
func (s *suite[T]) checkWatchExpired(t tb) {
	e, cancel := s.start(t)
	defer cancel()
	first := e.create(keyOf("x", "a"), nil)
	second := e.create(keyOf("x", "b"), nil)
	third := e.relabel(second, label("1"), false)
	last := e.relabel(third, label("2"), false)
	if err := s.opts.Compact(e.ctx, e.b, last.GetResourceVersion()); err != nil {
		t.Fatalf("Options.Compact(%s): %v", last.GetResourceVersion(), err)
	}
	for _, rv := range []string{first.GetResourceVersion(), second.GetResourceVersion()} {
		err := e.watchErr(controlloop.WatchOptions{ResourceVersion: rv})
		e.wantErr("Watch from the expired version "+rv, err, controlloop.ErrExpired)
	}
	w := e.watch(controlloop.WatchOptions{ResourceVersion: last.GetResourceVersion()})
	defer w.close()
	next := e.create(keyOf("x", "c"), nil)
	if got, want := seenOf(w.change()), wrote(controlloop.Added, next, next.GetResourceVersion()); got != want {
		t.Errorf("a watch from the version history was discarded up to saw %+v, want %+v", got, want)
	}
}

// checkBookmarks: a bookmark brings a watch past changes its selector
// filtered out, and a watch resumed from it loses and repeats nothing.
func (s *suite[T]) checkBookmarks(t tb) {
	e, cancel := s.start(t)
	defer cancel()
	_, rv := e.list(controlloop.ListOptions{})
	sel := controlloop.Selector{Namespace: "b", Labels: label("x")}
	w := e.watch(controlloop.WatchOptions{Selector: sel, ResourceVersion: rv, AllowBookmarks: true})
	r := e.recorder()
	r.create(keyOf("b", "a"), label("x"))
	r.create(keyOf("b", "b"), label("y"))
	r.update(keyOf("b", "b"), label("z"))
	r.create(keyOf("b", "c"), label("x"))
	r.create(keyOf("c", "a"), label("x"))
	before, mark := w.toBookmark()
	w.close()
	s.checkResume(e, r, sel, before, mark)
}

// checkBookmarksDuringReplay: a watch asked for progress while it replays
// history gets no bookmark ahead of the changes it has yet to deliver.
func (s *suite[T]) checkBookmarksDuringReplay(t tb) {
	e, cancel := s.start(t)
	defer cancel()
	_, rv := e.list(controlloop.ListOptions{})
	r := e.recorder()
	for i := range 200 {
		r.create(keyOf("b", fmt.Sprintf("obj-%03d", i)), label([]string{"x", "y"}[i%2]))
	}
	sel := controlloop.Selector{Labels: label("x")}
	w := e.watch(controlloop.WatchOptions{Selector: sel, ResourceVersion: rv, AllowBookmarks: true})
	before, mark := w.toBookmark()
	w.close()
	s.checkResume(e, r, sel, before, mark)
}

// toBookmark asks for progress until the watch gets a Bookmark, and
// returns the changes before it and its version.
func (w *stream[T]) toBookmark() (before []seen, rv string) {
	w.e.t.Helper()
	progress := func() {
		if err := w.e.s.opts.Progress(w.e.ctx, w.e.b); err != nil {
			w.e.t.Fatalf("Options.Progress: %v", err)
		}
	}
	progress()
	for {
		ev, ok := w.within(250 * time.Millisecond)
		switch {
		case !ok:
			progress() // the backend may have ignored the request
		case ev.Type == controlloop.Bookmark:
			return before, ev.ResourceVersion
		case ev.Type == controlloop.Error:
			w.e.t.Fatalf("watch %+v ended with an error while a bookmark was awaited: %v", w.opts, ev.Err)
		default:
			before = append(before, seenOf(ev))
		}
	}
}

// checkResume checks that what a watch with sel saw before a bookmark at
// mark, and what a watch resumed from mark sees up to a final write, are
// together what sel selects of r's writes and the final one, in order,
// each once.
func (s *suite[T]) checkResume(e *env[T], r *recorder[T], sel controlloop.Selector, before []seen, mark string) {
	e.t.Helper()
	w := e.watch(controlloop.WatchOptions{Selector: sel, ResourceVersion: mark})
	defer w.close()
	end := controlloop.Key{Namespace: sel.Namespace, Name: "end"}
	if end.Namespace == "" {
		end.Namespace = "end"
	}
	r.create(end, sel.Labels)
	after := w.until(end)
	if diff := cmp.Diff(expected(r.log, sel), append(before, after...)); diff != "" {
		e.t.Errorf("a watch with %+v saw %d changes, then a Bookmark at %s; resumed from it, it saw %d changes. Together (-want +got):\n%s", sel, len(before), mark, len(after), diff)
	}
}
