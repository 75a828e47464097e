package sourcetest

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/controlloop/controlloop"
	"github.com/google/go-cmp/cmp"
)

// modelOps is how many writes and reads one random sequence makes.
const modelOps = 40

// checkModel runs Options.Sequences random sequences of writes and reads,
// each against a new backend, checked against a map after every step;
// watches opened before and after the writes must see them all, as the
// log of writes says.
func (s *suite[T]) checkModel(t tb) {
	for seq := range s.opts.Sequences {
		s.runSequence(t, uint64(seq))
	}
}

// state is the model's view of one object.
type state struct {
	rv, uid    string
	generation int64
	labels     map[string]string
	// stale is a version the object had before, if any.
	stale string
}

func (s *suite[T]) runSequence(t tb, seed uint64) {
	e, cancel := s.start(t)
	defer cancel()
	rng := rand.New(rand.NewPCG(seed, 13))
	var steps []string
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("sequence %d, after the steps\n\t%s\n%s", seed, strings.Join(steps, "\n\t"), fmt.Sprintf(format, args...))
	}

	_, rv := e.list(controlloop.ListOptions{})
	sels := []controlloop.Selector{{}, {Namespace: "m1"}, {Labels: label("x")}, {Namespace: "m2", Labels: label("y")}}
	var ws []*stream[T]
	for _, sel := range sels {
		w := e.watch(controlloop.WatchOptions{Selector: sel, ResourceVersion: rv})
		defer w.close()
		ws = append(ws, w)
	}
	model := make(map[controlloop.Key]*state)
	r := e.recorder()
	pick := func() controlloop.Key {
		return keyOf([]string{"m1", "m2"}[rng.IntN(2)], []string{"a", "b", "c"}[rng.IntN(3)])
	}
	labels := func() map[string]string {
		return [](map[string]string){nil, label("x"), label("y"), {"app": "x", "tier": "web"}}[rng.IntN(4)]
	}

	for range modelOps {
		key := pick()
		st := model[key]
		switch op := rng.IntN(10); {
		case op < 3:
			lb := labels()
			steps = append(steps, fmt.Sprintf("create %v %v", key, lb))
			got, err := e.b.Create(e.ctx, e.object(key, lb))
			if st != nil {
				if !errors.Is(err, controlloop.ErrAlreadyExists) {
					fail("Create of an existing object: %v, want ErrAlreadyExists", err)
				}
				continue
			}
			if err != nil {
				fail("Create: %v", err)
			}
			model[key] = &state{rv: got.GetResourceVersion(), uid: got.GetObjectMeta().UID, generation: 1, labels: lb}
			r.cur[key] = got
			r.log = append(r.log, entry{typ: controlloop.Added, key: key, labels: maps.Clone(lb), rv: got.GetResourceVersion()})
		case op < 7:
			status, lb := op >= 6, labels()
			obj := e.object(key, lb)
			stale := st != nil && st.stale != "" && rng.IntN(4) == 0
			switch {
			case st == nil:
				obj.GetObjectMeta().ResourceVersion = rv
			case stale:
				obj.GetObjectMeta().ResourceVersion = st.stale
			default:
				obj.GetObjectMeta().ResourceVersion = st.rv
			}
			steps = append(steps, fmt.Sprintf("update (status %v) %v from %s to %v", status, key, obj.GetResourceVersion(), lb))
			write := e.b.Update
			if status {
				write = e.b.UpdateStatus
			}
			got, err := write(e.ctx, obj)
			switch {
			case st == nil:
				if !errors.Is(err, controlloop.ErrNotFound) {
					fail("update of a missing object: %v, want ErrNotFound", err)
				}
				continue
			case stale:
				if !errors.Is(err, controlloop.ErrConflict) {
					fail("update from a stale version: %v, want ErrConflict", err)
				}
				continue
			case err != nil:
				fail("update: %v", err)
			}
			r.log = append(r.log, entry{typ: controlloop.Modified, key: key, prev: maps.Clone(st.labels), labels: maps.Clone(lb), had: true, rv: got.GetResourceVersion()})
			st.stale, st.rv, st.labels = st.rv, got.GetResourceVersion(), lb
			if !status {
				st.generation++
			}
		case op < 9:
			var opts controlloop.DeleteOptions
			stale := st != nil && st.stale != "" && rng.IntN(3) == 0
			switch {
			case stale:
				opts.ResourceVersion = st.stale
			case st != nil && rng.IntN(2) == 0:
				opts.ResourceVersion = st.rv
			}
			steps = append(steps, fmt.Sprintf("delete %v %+v", key, opts))
			err := e.b.Delete(e.ctx, key, opts)
			switch {
			case st == nil:
				if !errors.Is(err, controlloop.ErrNotFound) {
					fail("Delete of a missing object: %v, want ErrNotFound", err)
				}
				continue
			case stale:
				if !errors.Is(err, controlloop.ErrConflict) {
					fail("Delete with a stale precondition: %v, want ErrConflict", err)
				}
				continue
			case err != nil:
				fail("Delete: %v", err)
			}
			r.log = append(r.log, entry{typ: controlloop.Deleted, key: key, labels: maps.Clone(st.labels), had: true})
			delete(model, key)
		default:
			opts := controlloop.ListOptions{Limit: rng.IntN(4)}
			if rng.IntN(2) == 0 {
				opts.Namespace = "m2"
			}
			steps = append(steps, fmt.Sprintf("list %+v", opts))
			items, _ := e.list(opts)
			var want []string
			for k, st := range model {
				if matches(opts.Selector, k, st.labels) {
					want = append(want, describeState(k, st))
				}
			}
			got := make([]string, len(items))
			for i, it := range items {
				got[i] = describeObject(it)
			}
			slices.Sort(want)
			if diff := cmp.Diff(want, slices.Sorted(slices.Values(got))); diff != "" {
				fail("List(%+v) (-model +got):\n%s", opts, diff)
			}
			if !slices.IsSortedFunc(items, func(a, b T) int { return s.opts.Order(controlloop.KeyOf(a), controlloop.KeyOf(b)) }) {
				fail("List(%+v) is not in Options.Order: %v", opts, keysOf(items))
			}
		}
		// After every step, the object reads back as the model says.
		got, err := e.b.Get(e.ctx, key)
		st = model[key]
		switch {
		case st == nil && !errors.Is(err, controlloop.ErrNotFound):
			fail("Get(%v) of a deleted or never created object: %v, want ErrNotFound", key, err)
		case st == nil:
		case err != nil:
			fail("Get(%v): %v", key, err)
		case describeObject(got) != describeState(key, st):
			fail("Get(%v) = %s, model %s", key, describeObject(got), describeState(key, st))
		}
	}

	// Every watch saw the writes; one from the middle saw the rest.
	end := keyOf("m1", "end")
	end2 := keyOf("m2", "end")
	r.create(end, label("x"))
	r.create(end2, label("y"))
	got := ws[0].until(end2)
	r.learn(0, got)
	for i, sel := range sels[1:] {
		last := end
		if sel.Namespace == "m2" {
			last = end2
		}
		if diff := cmp.Diff(expected(r.log, sel), ws[i+1].until(last)); diff != "" {
			fail("a watch with %+v saw (-want +got):\n%s", sel, diff)
		}
	}
	from := rng.IntN(len(r.log) - 1) // before end2, which the watch awaits
	w := e.watch(controlloop.WatchOptions{ResourceVersion: r.log[from].rv})
	defer w.close()
	if diff := cmp.Diff(expected(r.log[from+1:], controlloop.Selector{}), w.until(end2)); diff != "" {
		fail("a watch from version %s (change %d) saw (-want +got):\n%s", r.log[from].rv, from, diff)
	}
}

func describeState(k controlloop.Key, st *state) string {
	return fmt.Sprintf("%v rv=%s uid=%s gen=%d labels=%s", k, st.rv, st.uid, st.generation, labelString(st.labels))
}

func describeObject[T controlloop.Object](obj T) string {
	m := obj.GetObjectMeta()
	return fmt.Sprintf("%v rv=%s uid=%s gen=%d labels=%s", controlloop.KeyOf(obj), m.ResourceVersion, m.UID, m.Generation, labelString(m.Labels))
}
