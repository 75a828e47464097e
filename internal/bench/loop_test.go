package bench_test

import (
	"strconv"
	"testing"

	"github.com/controlloop/controlloop/internal/bench"
)

// BenchmarkLoop is the whole loop on the embedded store (issue 14):
// memstore -> informer -> controller -> a status write back to memstore,
// done when every object's write was read back from the cache; and a
// reconcile that only reads. -loop.objects=1000000 runs it on 1M objects.
// bench/clientgo's BenchmarkLoop runs it beside client-go's.
func BenchmarkLoop(b *testing.B) {
	for _, write := range []bool{true, false} {
		for _, workers := range []int{1, 2} {
			name := "reconcile=write/workers=" + strconv.Itoa(workers)
			if !write {
				name = "reconcile=read/workers=" + strconv.Itoa(workers)
			}
			b.Run(name, func(b *testing.B) {
				bench.Loop(b, bench.ControlloopLoop, bench.LoopSetup{Objects: bench.LoopObjects(), Workers: workers, Write: write})
			})
		}
	}
}

// TestLoopSettles runs the loop once on a few objects with each reconcile,
// so that the benchmark's stack is checked by go test.
func TestLoopSettles(t *testing.T) {
	for _, write := range []bool{true, false} {
		r := testing.Benchmark(func(b *testing.B) {
			bench.Loop(b, bench.ControlloopLoop, bench.LoopSetup{Objects: 1000, Workers: 2, Write: write})
		})
		if r.N == 0 {
			t.Fatalf("write=%v: the loop did not run", write)
		}
	}
}
