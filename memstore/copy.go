package memstore

import "reflect"

// deepCopier is implemented by types with a generated or hand-written deep
// copy, such as those produced by controller-gen.
type deepCopier[T any] interface {
	DeepCopy() T
}

// clonerFor returns the function that copies values of T: T's DeepCopy
// method when it has one, otherwise a reflection-based deep copy.
func clonerFor[T any]() func(T) T {
	var zero T
	if _, ok := any(zero).(deepCopier[T]); ok {
		return func(v T) T { return any(v).(deepCopier[T]).DeepCopy() }
	}
	return reflectCopy[T]
}

// reflectCopy deep-copies v through reflection. It follows pointers, maps,
// slices, arrays, interfaces and the exported fields of structs. Unexported
// fields are copied as they are: a pointer, map or slice held in one is
// shared with the original. Map keys are shared too. v must not contain a
// pointer cycle.
func reflectCopy[T any](v T) T {
	var out T
	copyValue(reflect.ValueOf(&out).Elem(), reflect.ValueOf(&v).Elem())
	return out
}

// copyValue sets dst, which is settable and of src's type, to a deep copy of
// src.
func copyValue(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		p := reflect.New(src.Type().Elem())
		copyValue(p.Elem(), src.Elem())
		dst.Set(p)
	case reflect.Map:
		if src.IsNil() {
			return
		}
		m := reflect.MakeMapWithSize(src.Type(), src.Len())
		elem := src.Type().Elem()
		it := src.MapRange()
		for it.Next() {
			if !needsDeepCopy(elem.Kind()) {
				m.SetMapIndex(it.Key(), it.Value())
				continue
			}
			v := reflect.New(elem).Elem()
			copyValue(v, it.Value())
			m.SetMapIndex(it.Key(), v)
		}
		dst.Set(m)
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		if needsDeepCopy(src.Type().Elem().Kind()) {
			for i := range src.Len() {
				copyValue(s.Index(i), src.Index(i))
			}
		} else {
			reflect.Copy(s, src)
		}
		dst.Set(s)
	case reflect.Array:
		dst.Set(src)
		if needsDeepCopy(src.Type().Elem().Kind()) {
			for i := range src.Len() {
				copyValue(dst.Index(i), src.Index(i))
			}
		}
	case reflect.Struct:
		dst.Set(src)
		t := src.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if f.IsExported() && needsDeepCopy(f.Type.Kind()) {
				copyValue(dst.Field(i), src.Field(i))
			}
		}
	case reflect.Interface:
		if src.IsNil() {
			return
		}
		e := src.Elem()
		c := reflect.New(e.Type()).Elem()
		copyValue(c, e)
		dst.Set(c)
	default:
		dst.Set(src)
	}
}

// needsDeepCopy reports whether a value of kind k may refer to memory that a
// plain assignment would share.
func needsDeepCopy(k reflect.Kind) bool {
	switch k {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Array, reflect.Struct, reflect.Interface:
		return true
	}
	return false
}
