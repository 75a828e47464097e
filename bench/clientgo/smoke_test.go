package clientgo

import (
	"testing"

	"github.com/controlloop/controlloop"
	"k8s.io/client-go/util/workqueue"
)

func TestSmoke(t *testing.T) {
	q := workqueue.NewTyped[controlloop.Key]()
	q.Add(controlloop.Key{Name: "a"})
	if q.Len() != 1 {
		t.Fatal("len")
	}
}
