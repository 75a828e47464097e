package controlloop_test

import (
	"testing"

	"github.com/controlloop/controlloop"
	"github.com/google/go-cmp/cmp"
)

type ReplicaSet struct {
	controlloop.ObjectMeta
}

func TestKindOf(t *testing.T) {
	if got := controlloop.KindOf[*ReplicaSet](); got != "ReplicaSet" {
		t.Errorf("KindOf[*ReplicaSet]() = %q, want ReplicaSet", got)
	}
	if got := controlloop.KindOf[controlloop.Object](); got != "" {
		t.Errorf("KindOf[Object]() = %q, want \"\" (an interface names no kind)", got)
	}
}

func TestOwnerOf(t *testing.T) {
	rs := &ReplicaSet{controlloop.ObjectMeta{Namespace: "ns", Name: "web", UID: "u1"}}
	want := controlloop.OwnerReference{Kind: "ReplicaSet", Name: "web", UID: "u1", Controller: true}
	if diff := cmp.Diff(want, controlloop.OwnerOf(rs, true)); diff != "" {
		t.Errorf("OwnerOf(rs, true) (-want +got):\n%s", diff)
	}
	var asObject controlloop.Object = rs // the dynamic type names the kind
	if got := controlloop.OwnerOf(asObject, false); got.Kind != controlloop.KindOf[*ReplicaSet]() || got.Controller {
		t.Errorf("OwnerOf(Object(rs), false) = %+v, want kind %q, not controller", got, controlloop.KindOf[*ReplicaSet]())
	}
	if got := controlloop.OwnerOf((*ReplicaSet)(nil), true); got != (controlloop.OwnerReference{}) {
		t.Errorf("OwnerOf(nil pointer) = %+v, want the zero reference", got)
	}
	if got := controlloop.OwnerOf(nil, true); got != (controlloop.OwnerReference{}) {
		t.Errorf("OwnerOf(nil) = %+v, want the zero reference", got)
	}
}
