package controlloop_test

import (
	"fmt"

	"github.com/controlloop/controlloop"
)

// Pod is a user's own type: embedding ObjectMeta makes *Pod an Object.
type Pod struct {
	controlloop.ObjectMeta
	Phase string
}

func ExampleKeyOf() {
	pod := &Pod{ObjectMeta: controlloop.ObjectMeta{Namespace: "default", Name: "web-1"}}
	key := controlloop.KeyOf(pod)
	fmt.Println(key)

	parsed, err := controlloop.ParseKey("default/web-1")
	fmt.Println(parsed == key, err)
	// Output:
	// default/web-1
	// true <nil>
}

func ExampleSelector() {
	sel := controlloop.Selector{Namespace: "default", Labels: map[string]string{"app": "web"}}
	pod := &Pod{ObjectMeta: controlloop.ObjectMeta{Namespace: "default", Name: "web-1", Labels: map[string]string{"app": "web"}}}
	fmt.Println(sel.Matches(pod))
	// Output: true
}
