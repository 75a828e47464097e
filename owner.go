package controlloop

import "reflect"

// KindOf returns the kind of the objects of type O, as owner references
// name it: the name of the Go type that O points to (for *ReplicaSet,
// "ReplicaSet"), or of O itself if it is not a pointer. For an interface
// type, which names no kind, it returns "".
//
// [OwnerOf] fills [OwnerReference.Kind] the same way, so a reference made
// by OwnerOf and a match on KindOf (reconcile.ForOwner) agree by
// construction.
func KindOf[O Object]() string { return kindOf(reflect.TypeFor[O]()) }

// OwnerOf returns a reference to owner, for the objects it owns: the kind
// of owner's type (as [KindOf] names it), its name and UID, and controller
// as [OwnerReference.Controller]. For a nil owner (a nil interface or a nil
// pointer) it returns the zero OwnerReference.
func OwnerOf(owner Object, controller bool) OwnerReference {
	if IsNil(owner) {
		return OwnerReference{}
	}
	return OwnerReference{
		Kind:       kindOf(reflect.TypeOf(owner)),
		Name:       owner.GetName(),
		UID:        owner.GetObjectMeta().UID,
		Controller: controller,
	}
}

func kindOf(t reflect.Type) string {
	if t.Kind() == reflect.Interface {
		return ""
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}
