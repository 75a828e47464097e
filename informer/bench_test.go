package informer_test

import (
	"testing"

	"github.com/controlloop/controlloop/internal/bench"
)

// The workloads of bench/clientgo's informer comparison, controlloop only;
// see package bench for what each measures.

var benchSources = []struct {
	name string
	new  bench.NewInformerImpl
}{
	{"source=static", bench.ControlloopInformer},
	{"source=memstore", bench.ControlloopMemstoreInformer},
}

func BenchmarkInitialSync100k(b *testing.B) {
	for _, src := range benchSources {
		b.Run(src.name, func(b *testing.B) { bench.InitialSync(b, src.new, 100_000) })
	}
}

func BenchmarkEventThroughput(b *testing.B) {
	for _, src := range benchSources {
		b.Run(src.name, func(b *testing.B) {
			bench.EventThroughput(b, src.new, bench.InformerSetup{Objects: 10_000}, bench.EventLoad{})
		})
	}
}

func BenchmarkEventThroughput10Readers(b *testing.B) {
	for _, src := range benchSources {
		b.Run(src.name, func(b *testing.B) {
			bench.EventThroughput(b, src.new, bench.InformerSetup{Objects: 10_000}, bench.EventLoad{Readers: 10, InFlight: 10})
		})
	}
}
