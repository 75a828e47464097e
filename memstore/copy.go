package memstore

import (
	"fmt"
	"reflect"
	"sync"
	"time"
)

// deepCopier is implemented by types with a generated or hand-written deep
// copy, such as those produced by controller-gen.
type deepCopier[T any] interface {
	DeepCopy() T
}

// clonerFor returns the function that copies values of T: T's DeepCopy
// method when it has one, otherwise a reflection-based deep copy. It fails,
// naming the first field in the way, if T has no DeepCopy method and
// reflection cannot copy it faithfully (see [copyableType]).
func clonerFor[T any]() (func(T) (T, error), error) {
	var zero T
	if _, ok := any(zero).(deepCopier[T]); ok {
		return func(v T) (T, error) { return any(v).(deepCopier[T]).DeepCopy(), nil }, nil
	}
	if err := copyableType(reflect.TypeFor[T]()); err != nil {
		return nil, err
	}
	return reflectCopy[T], nil
}

// reflectCopy deep-copies v through reflection, making new pointers, maps,
// slices and arrays all the way down, so that the copy shares no memory
// with v. It fails if v holds a pointer cycle, or an interface whose
// dynamic value reflection cannot copy faithfully.
func reflectCopy[T any](v T) (T, error) {
	var out T
	var c copier
	if err := c.copyValue(reflect.ValueOf(&out).Elem(), reflect.ValueOf(&v).Elem()); err != nil {
		var zero T
		return zero, err
	}
	return out, nil
}

// copier is one deep copy in progress.
type copier struct {
	// path holds the pointers, maps and slices being copied, from the
	// root to the current value: meeting one again is a cycle.
	path []ref
}

// ref identifies the memory a pointer, map or slice refers to.
type ref struct {
	t reflect.Type
	p uintptr
}

// enter records that the copy descends into v, a non-nil pointer, map or
// slice, whose target has a non-zero size. It fails if v is already being
// copied further up: v refers to itself.
func (c *copier) enter(v reflect.Value) error {
	r := ref{v.Type(), v.Pointer()}
	for _, on := range c.path {
		if on == r {
			return &copyError{reason: fmt.Sprintf("pointer cycle: a %v refers back to itself", v.Type())}
		}
	}
	c.path = append(c.path, r)
	return nil
}

func (c *copier) leave() { c.path = c.path[:len(c.path)-1] }

// copyValue sets dst, which is settable and of src's type, to a deep copy of
// src. The types in src were checked by copyableType, except the dynamic
// types of interfaces, which it checks.
func (c *copier) copyValue(dst, src reflect.Value) error {
	switch src.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			return nil
		}
		p := reflect.New(src.Type().Elem())
		if src.Type().Elem().Size() > 0 {
			if err := c.enter(src); err != nil {
				return err
			}
			defer c.leave()
			if err := c.copyValue(p.Elem(), src.Elem()); err != nil {
				return err
			}
		}
		dst.Set(p)
	case reflect.Map:
		if src.IsNil() {
			return nil
		}
		if err := c.enter(src); err != nil {
			return err
		}
		defer c.leave()
		m := reflect.MakeMapWithSize(src.Type(), src.Len())
		elem := src.Type().Elem()
		it := src.MapRange()
		for it.Next() {
			if !needsDeepCopy(elem.Kind()) {
				m.SetMapIndex(it.Key(), it.Value())
				continue
			}
			v := reflect.New(elem).Elem()
			if err := c.copyValue(v, it.Value()); err != nil {
				return prefix(err, fmt.Sprintf("[%v]", it.Key()))
			}
			m.SetMapIndex(it.Key(), v)
		}
		dst.Set(m)
	case reflect.Slice:
		if src.IsNil() {
			return nil
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		if !needsDeepCopy(src.Type().Elem().Kind()) {
			reflect.Copy(s, src)
		} else if src.Len() > 0 {
			if err := c.enter(src); err != nil {
				return err
			}
			defer c.leave()
			for i := range src.Len() {
				if err := c.copyValue(s.Index(i), src.Index(i)); err != nil {
					return prefix(err, fmt.Sprintf("[%d]", i))
				}
			}
		}
		dst.Set(s)
	case reflect.Array:
		dst.Set(src)
		if needsDeepCopy(src.Type().Elem().Kind()) {
			for i := range src.Len() {
				if err := c.copyValue(dst.Index(i), src.Index(i)); err != nil {
					return prefix(err, fmt.Sprintf("[%d]", i))
				}
			}
		}
	case reflect.Struct:
		dst.Set(src)
		t := src.Type()
		for i := range t.NumField() {
			// Unexported fields hold no memory (copyableType checked it).
			if f := t.Field(i); f.IsExported() && needsDeepCopy(f.Type.Kind()) {
				if err := c.copyValue(dst.Field(i), src.Field(i)); err != nil {
					return prefix(err, "."+f.Name)
				}
			}
		}
	case reflect.Interface:
		if src.IsNil() {
			return nil
		}
		e := src.Elem()
		if err := copyableType(e.Type()); err != nil {
			return prefix(err, fmt.Sprintf("(%v)", e.Type()))
		}
		v := reflect.New(e.Type()).Elem()
		if err := c.copyValue(v, e); err != nil {
			return prefix(err, fmt.Sprintf("(%v)", e.Type()))
		}
		dst.Set(v)
	default:
		dst.Set(src)
	}
	return nil
}

// copyError is why a type or value cannot be copied by reflection, and
// where in it.
type copyError struct {
	// path leads from the copied value to the part that cannot be copied,
	// as in ".Spec.Count.abs" or ".Items[2]"; empty for the value itself.
	path   string
	reason string
}

func (e *copyError) Error() string {
	if e.path == "" {
		return e.reason
	}
	return "at " + e.path + ": " + e.reason
}

// prefix adds step in front of the path of err, a *copyError.
func prefix(err error, step string) error {
	e := err.(*copyError)
	return &copyError{path: step + e.path, reason: e.reason}
}

// copyable caches copyableType's answer for each dynamic type met in an
// interface: reflect.Type -> error (nil for a type that can be copied).
var copyable sync.Map

// timeType is time.Time: its unexported *Location is shared by copies,
// which is faithful because a Location is never modified once made.
var timeType = reflect.TypeFor[time.Time]()

// copyableType reports why reflection cannot copy values of t faithfully, or
// nil if it can: an unexported field that refers to memory (which
// reflection can read but not set, so it would be shared), a map key that
// refers to memory (keys cannot be copied), or a channel, function or
// unsafe pointer anywhere in t. Interfaces are checked when a value is
// copied, by their dynamic type.
func copyableType(t reflect.Type) error {
	if err, ok := copyable.Load(t); ok {
		if err == nil {
			return nil
		}
		return err.(error)
	}
	var err error
	if e := checkType(t, map[reflect.Type]bool{}); e != nil {
		err = e
	}
	copyable.Store(t, err)
	return err
}

// checkType is copyableType for t, skipping types in seen (those already
// checked or being checked further up).
func checkType(t reflect.Type, seen map[reflect.Type]bool) *copyError {
	if t == timeType || seen[t] {
		return nil
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		if e := checkType(t.Elem(), seen); e != nil {
			if t.Kind() == reflect.Pointer {
				return e
			}
			return &copyError{path: "[]" + e.path, reason: e.reason}
		}
	case reflect.Map:
		if refersToMemory(t.Key()) {
			return &copyError{reason: fmt.Sprintf("the keys of %v refer to memory, which a copied map would share", t)}
		}
		if e := checkType(t.Elem(), seen); e != nil {
			return &copyError{path: "[]" + e.path, reason: e.reason}
		}
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				if refersToMemory(f.Type) {
					return &copyError{path: "." + f.Name, reason: fmt.Sprintf("unexported field of type %v refers to memory, which reflection cannot copy", f.Type)}
				}
				continue
			}
			if e := checkType(f.Type, seen); e != nil {
				return &copyError{path: "." + f.Name + e.path, reason: e.reason}
			}
		}
	case reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return &copyError{reason: fmt.Sprintf("a %v cannot be copied", t)}
	}
	return nil
}

// refersToMemory reports whether a value of type t may refer to memory that
// a plain assignment would share.
func refersToMemory(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return true
	case reflect.Array:
		return t.Len() > 0 && refersToMemory(t.Elem())
	case reflect.Struct:
		if t == timeType {
			return false
		}
		for i := range t.NumField() {
			if refersToMemory(t.Field(i).Type) {
				return true
			}
		}
	}
	return false
}

// needsDeepCopy reports whether a value of kind k may refer to memory that
// a plain assignment would share: the cheap test the copy makes at each
// step, where refersToMemory would walk the type.
func needsDeepCopy(k reflect.Kind) bool {
	switch k {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Array, reflect.Struct, reflect.Interface:
		return true
	}
	return false
}
