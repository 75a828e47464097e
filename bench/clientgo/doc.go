// Package clientgo measures controlloop side by side with Kubernetes
// client-go (v0.37) and controller-runtime on the same workloads, in the same
// process, so that the figures compare as ratios rather than as absolute
// times. It lives in its own module so that the core module never depends on
// Kubernetes.
//
// Run it from the repository root:
//
//	go test -run '^$' -bench . -count 10 ./bench/clientgo/ | tee new.txt
//	benchstat -col /impl new.txt
package clientgo
