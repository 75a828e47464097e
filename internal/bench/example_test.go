package bench_test

import (
	"fmt"

	"github.com/controlloop/controlloop/internal/bench"
)

func ExampleKeys() {
	for _, k := range bench.Keys(3) {
		fmt.Println(k)
	}
	// Output:
	// ns-0/object-0
	// ns-1/object-1
	// ns-2/object-2
}
