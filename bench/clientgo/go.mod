module github.com/controlloop/controlloop/bench/clientgo

go 1.26.0

require (
	github.com/controlloop/controlloop v0.0.0
	k8s.io/client-go v0.37.0
)

require (
	github.com/go-logr/logr v1.4.3 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	golang.org/x/time v0.16.0 // indirect
	k8s.io/apimachinery v0.37.0 // indirect
	k8s.io/klog/v2 v2.140.0 // indirect
	k8s.io/utils v0.0.0-20260626114624-be93311217bd // indirect
)

replace github.com/controlloop/controlloop => ../..
