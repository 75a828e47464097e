// Package bench holds the workloads of this module's benchmarks, written
// once against small interfaces so that the same workload measures
// controlloop here and client-go or controller-runtime in the nested module
// bench/clientgo, side by side in one run.
//
// Every workload calls b.ReportAllocs and reports its throughput in domain
// units (items/s) besides ns/op.
package bench
