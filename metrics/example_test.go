package metrics_test

import (
	"fmt"

	"github.com/controlloop/controlloop/metrics"
	"github.com/controlloop/controlloop/workqueue"
	"github.com/prometheus/client_golang/prometheus"
)

func ExampleNewWorkqueueMetrics() {
	reg := prometheus.NewRegistry()
	provider, err := metrics.NewWorkqueueMetrics(reg)
	if err != nil {
		panic(err)
	}
	q := workqueue.New(workqueue.Options[string]{Name: "replicasets", Metrics: provider})
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
