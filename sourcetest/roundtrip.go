package sourcetest

import (
	"reflect"
	"strings"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/google/go-cmp/cmp"
)

// Object is an object type for backends that store any type: run the
// suite with T = *Object and its round-trip rule writes [ObjectSamples],
// which hold the kinds of value that encodings tend to change. Its map and
// slice fields are tagged omitempty, as [controlloop.ObjectMeta]'s are, so
// that a JSON encoding treats every one alike.
type Object struct {
	controlloop.ObjectMeta
	Text  string            `json:"text,omitempty"`
	Count *int              `json:"count,omitempty"`
	Tags  []string          `json:"tags,omitempty"`
	Attrs map[string]string `json:"attrs,omitempty"`
	Data  []byte            `json:"data,omitempty"`
	Items []Item            `json:"items,omitempty"`
	When  time.Time         `json:"when"`
	// note is kept by a backend that keeps unexported fields.
	note string
}

// Item is an element of [Object.Items].
type Item struct {
	Name   string         `json:"name"`
	Values map[string]int `json:"values,omitempty"`
	weight int
}

// ObjectSamples returns new objects, in namespace "samples", for the
// round-trip rule: one with every field zero, one with every map and slice
// empty but not nil, and one with every field set (a pointer to a zero
// value, a time with nanoseconds in a zone of its own, unexported fields).
func ObjectSamples() []*Object {
	zero := 0
	return []*Object{
		{ObjectMeta: controlloop.ObjectMeta{Namespace: "samples", Name: "zero"}},
		{
			ObjectMeta: controlloop.ObjectMeta{Namespace: "samples", Name: "empty", Labels: map[string]string{}, OwnerReferences: []controlloop.OwnerReference{}},
			Tags:       []string{}, Attrs: map[string]string{}, Data: []byte{},
			Items: []Item{{Name: "i", Values: map[string]int{}}},
		},
		{
			ObjectMeta: controlloop.ObjectMeta{
				Namespace: "samples", Name: "full", Labels: map[string]string{"app": "x", "": "empty key"},
				OwnerReferences: []controlloop.OwnerReference{{Kind: "Set", Name: "owner", UID: "uid-owner", Controller: true}},
			},
			Text: "héllo \u2028 \"quoted\" <tag> &", Count: &zero,
			Tags: []string{"a", ""}, Attrs: map[string]string{"k": "v"}, Data: []byte{0, 1, 255},
			Items: []Item{{Name: "i", Values: map[string]int{"n": -1}, weight: 3}, {Name: "j"}},
			When:  time.Date(2026, 12, 1, 23, 59, 59, 123456789, time.FixedZone("UTC+1", 3600)),
			note:  "unexported",
		},
	}
}

// checkRoundTrip: every sample, and objects of T with empty, nil and large
// metadata, read back from Create, Get, List, Watch and Update as written,
// but for the declared Differences (and the store-owned version, UID and
// Generation).
func (s *suite[T]) checkRoundTrip(t tb) {
	e, cancel := s.start(t)
	defer cancel()
	samples := s.metaSamples(e)
	samples = append(samples, s.opts.Samples...)
	_, rv := e.list(controlloop.ListOptions{})
	w := e.watch(controlloop.WatchOptions{ResourceVersion: rv})
	defer w.close()
	d := s.opts.Differences
	for _, in := range samples {
		key := controlloop.KeyOf(in)
		want := expect(in, d)
		check := func(how string, got T) {
			t.Helper()
			if diff := cmp.Diff(want, stamped(got, want), exportAll()); diff != "" {
				t.Errorf("%v read back from %s differs (-want +got), with Options.Differences %+v:\n%s", key, how, d, diff)
			}
		}
		created, err := e.b.Create(e.ctx, e.clone(in))
		if err != nil {
			t.Errorf("Create(%v): %v", key, err)
			continue
		}
		check("Create", created)
		check("Get", e.get(key))
		items, _ := e.list(controlloop.ListOptions{Selector: controlloop.Selector{Namespace: key.Namespace}})
		for _, it := range items {
			if controlloop.KeyOf(it) == key {
				check("List", it)
			}
		}
		check("Watch", w.change().Object)
		updated, err := e.b.Update(e.ctx, created)
		if err != nil {
			t.Errorf("Update(%v) of what Create returned: %v", key, err)
			continue
		}
		check("Update of what Create returned", updated)
		check("Watch after Update", w.change().Object)
	}
}

// metaSamples returns objects of T that vary their metadata only: nil,
// empty and large labels, empty and set owner references.
func (s *suite[T]) metaSamples(e *env[T]) []T {
	nilMeta := e.object(keyOf("meta", "nil"), nil)
	empty := e.object(keyOf("meta", "empty"), nil)
	empty.GetObjectMeta().Labels = map[string]string{}
	empty.GetObjectMeta().OwnerReferences = []controlloop.OwnerReference{}
	owned := e.object(keyOf("meta", "owned"), map[string]string{"app": "x", "tier": ""})
	owned.GetObjectMeta().OwnerReferences = []controlloop.OwnerReference{{Kind: "Set", Name: "a", UID: "uid-a", Controller: true}, {Kind: "Other", Name: "b"}}
	large := e.object(keyOf("meta", "large"), map[string]string{"big": strings.Repeat("0123456789abcdef", s.opts.Differences.ValueLimit/16) + strings.Repeat("x", s.opts.Differences.ValueLimit%16)})
	return []T{nilMeta, empty, owned, large}
}

// stamped returns got with the store-owned metadata fields of want, so that
// a comparison skips them.
func stamped[T controlloop.Object](got, want T) T {
	c := reflect.New(reflect.TypeOf(got).Elem())
	c.Elem().Set(reflect.ValueOf(got).Elem())
	out := c.Interface().(T)
	m, w := out.GetObjectMeta(), want.GetObjectMeta()
	m.ResourceVersion, m.UID, m.Generation = w.ResourceVersion, w.UID, w.Generation
	return out
}

// expect returns what a backend with the differences d reads back of obj.
func expect[T any](obj T, d Differences) T {
	v := reflect.ValueOf(&obj).Elem()
	return transform(v, d).Interface().(T)
}

var timeType = reflect.TypeFor[time.Time]()

// transform returns a copy of v as a backend with the differences d keeps
// it.
func transform(v reflect.Value, d Differences) reflect.Value {
	out := reflect.New(v.Type()).Elem()
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			p := reflect.New(v.Type().Elem())
			p.Elem().Set(transform(v.Elem(), d))
			out.Set(p)
		}
	case reflect.Map:
		if v.IsNil() || (v.Len() == 0 && d.EmptyMapsBecomeNil) {
			break
		}
		m := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			m.SetMapIndex(it.Key(), transform(it.Value(), d))
		}
		out.Set(m)
	case reflect.Slice:
		if v.IsNil() || (v.Len() == 0 && d.EmptySlicesBecomeNil) {
			break
		}
		sl := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			sl.Index(i).Set(transform(v.Index(i), d))
		}
		out.Set(sl)
	case reflect.Array:
		for i := range v.Len() {
			out.Index(i).Set(transform(v.Index(i), d))
		}
	case reflect.Struct:
		if v.Type() == timeType {
			out.Set(v)
			break
		}
		if !d.UnexportedFieldsDropped {
			out.Set(v) // unexported fields as they are; exported ones below
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				out.Field(i).Set(transform(v.Field(i), d))
			}
		}
	default:
		out.Set(v)
	}
	return out
}
