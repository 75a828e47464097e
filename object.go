package controlloop

import (
	"fmt"
	"iter"
	"reflect"
	"strings"
)

// Object is what every cache, queue and store in this module holds: a named,
// versioned value. Users embed [ObjectMeta] in their struct and use a pointer
// to it as the type parameter (for example *Pod), which gives them every
// method of Object for free.
type Object interface {
	GetNamespace() string
	GetName() string
	GetResourceVersion() string
	// GetObjectMeta returns the object's metadata, for stores to stamp the
	// version and for generic code to read labels and owners.
	GetObjectMeta() *ObjectMeta
}

// ObjectMeta is the metadata every object carries. Embed it in a struct to
// make a pointer to that struct an [Object].
//
// Name and Namespace are the caller's; the store owns ResourceVersion, UID and
// Generation and overwrites them on each write.
type ObjectMeta struct {
	// Namespace groups objects; empty for objects outside any namespace.
	Namespace string `json:"namespace,omitempty"`
	// Name is unique within its namespace and must not be empty.
	Name string `json:"name"`
	// UID is set by the store when the object is created. It tells apart two
	// objects that had the same name at different times.
	UID string `json:"uid,omitempty"`
	// ResourceVersion is the store's opaque version of this state of the
	// object. An update must carry the version it was based on.
	ResourceVersion string `json:"resourceVersion,omitempty"`
	// Generation counts changes of desired state: stores increase it on
	// Update and keep it on UpdateStatus.
	Generation int64 `json:"generation,omitempty"`
	// Labels are matched by the equality selectors of [Selector].
	Labels map[string]string `json:"labels,omitempty"`
	// OwnerReferences name the objects this one belongs to.
	OwnerReferences []OwnerReference `json:"ownerReferences,omitempty"`
}

// OwnerReference names an owner of an object. Owners live in the same
// namespace as what they own.
type OwnerReference struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	UID  string `json:"uid,omitempty"`
	// Controller marks the one owner that manages the object.
	Controller bool `json:"controller,omitempty"`
}

// GetNamespace returns m.Namespace.
func (m *ObjectMeta) GetNamespace() string { return m.Namespace }

// GetName returns m.Name.
func (m *ObjectMeta) GetName() string { return m.Name }

// GetResourceVersion returns m.ResourceVersion.
func (m *ObjectMeta) GetResourceVersion() string { return m.ResourceVersion }

// GetObjectMeta returns m itself.
func (m *ObjectMeta) GetObjectMeta() *ObjectMeta { return m }

// ControllerRef returns the owner reference marked Controller, if any.
func (m *ObjectMeta) ControllerRef() (OwnerReference, bool) {
	for _, ref := range m.OwnerReferences {
		if ref.Controller {
			return ref, true
		}
	}
	return OwnerReference{}, false
}

// Key identifies an object: its namespace and name. Key is comparable, so it
// serves directly as a map key and a workqueue item, with no string building.
type Key struct {
	Namespace string
	Name      string
}

// KeyOf returns the key of o. For a nil object (a nil interface or a nil
// pointer) it returns the zero Key, which [Key.Validate] refuses.
func KeyOf(o Object) Key {
	if IsNil(o) {
		return Key{}
	}
	return Key{Namespace: o.GetNamespace(), Name: o.GetName()}
}

// String returns "namespace/name", or "name" when the namespace is empty.
func (k Key) String() string {
	if k.Namespace == "" {
		return k.Name
	}
	return k.Namespace + "/" + k.Name
}

// ParseKey reverses [Key.String]. It returns an error wrapping [ErrInvalid]
// for an empty name or more than one "/".
func ParseKey(s string) (Key, error) {
	ns, name, found := strings.Cut(s, "/")
	if !found {
		ns, name = "", s
	}
	k := Key{Namespace: ns, Name: name}
	if err := k.Validate(); err != nil {
		return Key{}, err
	}
	if found && ns == "" {
		return Key{}, fmt.Errorf("%w: key %q has an empty namespace before '/'", ErrInvalid, s)
	}
	return k, nil
}

// Validate reports whether k can name a stored object: the name must not be
// empty, and neither part may contain "/". The error wraps [ErrInvalid].
func (k Key) Validate() error {
	switch {
	case k.Name == "":
		return fmt.Errorf("%w: empty name", ErrInvalid)
	case strings.Contains(k.Name, "/"):
		return fmt.Errorf("%w: name %q contains '/'", ErrInvalid, k.Name)
	case strings.Contains(k.Namespace, "/"):
		return fmt.Errorf("%w: namespace %q contains '/'", ErrInvalid, k.Namespace)
	}
	return nil
}

// Validate reports whether o can be stored: it must not be nil (neither a
// nil interface nor a nil pointer) and its key must be valid. The error wraps
// [ErrInvalid].
func Validate(o Object) error {
	if IsNil(o) {
		return fmt.Errorf("%w: nil object", ErrInvalid)
	}
	return KeyOf(o).Validate()
}

// IsNil reports whether o is a nil interface or holds a nil pointer, map,
// slice or other nilable value, on which calling a method would panic.
func IsNil(o Object) bool {
	if o == nil {
		return true
	}
	v := reflect.ValueOf(o)
	switch v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface, reflect.Func, reflect.Chan:
		return v.IsNil()
	}
	return false
}

// Collect returns the objects of seq, in its order: the slice form of a
// cache walk such as an informer's List or ByIndex.
func Collect[T any](seq iter.Seq2[Key, T]) []T {
	var out []T
	for _, obj := range seq {
		out = append(out, obj)
	}
	return out
}
