package metrics_test

import (
	"context"
	"fmt"

	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/metrics"
	"github.com/controlloop/controlloop/workqueue"
	"github.com/prometheus/client_golang/prometheus"
)

func ExampleNewWorkqueueProvider() {
	reg := prometheus.NewRegistry()
	provider, err := metrics.NewWorkqueueProvider(reg)
	if err != nil {
		panic(err)
	}
	q, err := workqueue.New(workqueue.Options[string]{Name: "replicasets", Metrics: provider})
	if err != nil {
		panic(err)
	}
	q.Add("default/web")
	q.Add("default/db")
	q.Add("default/web") // merged: counted once

	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		switch mf.GetName() {
		case "workqueue_depth":
			fmt.Println(mf.GetName(), mf.GetMetric()[0].GetGauge().GetValue())
		case "workqueue_adds_total":
			fmt.Println(mf.GetName(), mf.GetMetric()[0].GetCounter().GetValue())
		}
	}
	// Output:
	// workqueue_adds_total 2
	// workqueue_depth 2
}

func ExampleNewInformerProvider() {
	reg := prometheus.NewRegistry()
	provider, err := metrics.NewInformerProvider(reg)
	if err != nil {
		panic(err)
	}
	store, err := memstore.New[*Pod](memstore.Options{})
	if err != nil {
		panic(err)
	}
	inf, err := informer.New[*Pod](store, informer.Options[*Pod]{Name: "pods", Metrics: provider})
	if err != nil {
		panic(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- inf.Run(ctx) }()
	if err := informer.WaitForCacheSync(ctx, inf.HasSynced); err != nil {
		panic(err)
	}

	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		switch mf.GetName() {
		case "controlloop_informer_healthy", "controlloop_informer_synced":
			fmt.Println(mf.GetName(), mf.GetMetric()[0].GetGauge().GetValue())
		}
	}
	stop()
	<-done
	// Output:
	// controlloop_informer_healthy 1
	// controlloop_informer_synced 1
}
