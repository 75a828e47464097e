package informer

import (
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"sync"

	"github.com/controlloop/controlloop"
)

// MutationDetectorEnv is the environment variable that, set to "1", turns
// on [Options.MutationDetector] for every informer made by [New]: meant for
// tests and CI.
const MutationDetectorEnv = "CONTROLLOOP_MUTATION_DETECTOR"

// detector keeps a private copy of each cached object and reports the
// first change made to a cached object behind the informer's back. It
// compares when the informer replaces or deletes the object and when Run
// returns.
type detector[T controlloop.Object] struct {
	copy func(T) T
	log  *slog.Logger

	mu       sync.Mutex // protects the fields below
	copies   map[controlloop.Key]cachedCopy[T]
	reported bool
}

type cachedCopy[T any] struct{ cached, copy T }

// newDetector returns the detector opts ask for, or nil.
func newDetector[T controlloop.Object](opts Options[T], log *slog.Logger) (*detector[T], error) {
	if !opts.MutationDetector && os.Getenv(MutationDetectorEnv) != "1" {
		return nil, nil
	}
	cp := opts.Copy
	if cp == nil {
		var zero T
		if _, ok := any(zero).(interface{ DeepCopy() T }); !ok {
			return nil, errOption("Options.Copy", "nil", fmt.Sprintf("must be set for the mutation detector: %T has no DeepCopy() method returning it", zero))
		}
		cp = func(obj T) T { return any(obj).(interface{ DeepCopy() T }).DeepCopy() }
	}
	return &detector[T]{copy: cp, log: log, copies: make(map[controlloop.Key]cachedCopy[T])}, nil
}

// written records that obj (deleted, if gone) is now the cached object of
// its key, after checking the one it replaces.
func (d *detector[T]) written(obj T, gone bool) {
	k := controlloop.KeyOf(obj)
	d.mu.Lock()
	defer d.mu.Unlock()
	if prev, ok := d.copies[k]; ok {
		d.lockedCheck(k, prev)
	}
	if gone {
		delete(d.copies, k)
		return
	}
	d.copies[k] = cachedCopy[T]{cached: obj, copy: d.copy(obj)}
}

// checkAll checks every cached object.
func (d *detector[T]) checkAll() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, c := range d.copies {
		d.lockedCheck(k, c)
	}
}

func (d *detector[T]) lockedCheck(k controlloop.Key, c cachedCopy[T]) {
	if d.reported {
		return
	}
	if path, differ := diff(reflect.ValueOf(c.copy), reflect.ValueOf(c.cached), "", map[[2]uintptr]bool{}); differ {
		d.reported = true
		d.log.Error("informer: a cached object was modified: copy it before changing it", "key", k, "path", path)
	}
}

// diff returns the path of the first place where a and b differ.
func diff(a, b reflect.Value, path string, seen map[[2]uintptr]bool) (string, bool) {
	if a.IsValid() != b.IsValid() {
		return path, true
	}
	if !a.IsValid() {
		return "", false
	}
	if a.Type() != b.Type() {
		return path, true
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return path, a.IsNil() != b.IsNil()
		}
		if a.Kind() == reflect.Pointer {
			p := [2]uintptr{a.Pointer(), b.Pointer()}
			if seen[p] {
				return "", false
			}
			seen[p] = true
		}
		return diff(a.Elem(), b.Elem(), path, seen)
	case reflect.Struct:
		for i := range a.NumField() {
			if p, d := diff(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name, seen); d {
				return p, true
			}
		}
		return "", false
	case reflect.Slice, reflect.Array:
		if a.Kind() == reflect.Slice && a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return path, true
		}
		for i := range a.Len() {
			if p, d := diff(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i), seen); d {
				return p, true
			}
		}
		return "", false
	case reflect.Map:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return path, true
		}
		for _, k := range a.MapKeys() {
			if p, d := diff(a.MapIndex(k), b.MapIndex(k), fmt.Sprintf("%s[%v]", path, k), seen); d {
				return p, true
			}
		}
		return "", false
	case reflect.Bool:
		return path, a.Bool() != b.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return path, a.Int() != b.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return path, a.Uint() != b.Uint()
	case reflect.Float32, reflect.Float64:
		x, y := a.Float(), b.Float()
		return path, x != y && (x == x || y == y) // NaN stays NaN
	case reflect.Complex64, reflect.Complex128:
		return path, a.Complex() != b.Complex()
	case reflect.String:
		return path, a.String() != b.String()
	default: // func, chan, unsafe pointer: a copy shares them
		return path, a.Pointer() != b.Pointer()
	}
}
