package ring_test

import (
	"fmt"

	"github.com/controlloop/controlloop/internal/ring"
)

func ExampleRing() {
	var r ring.Ring[string]
	r.Push("a")
	r.Push("b")
	fmt.Println(r.Pop(), r.Len(), r.At(0))
	// Output: a 1 b
}
