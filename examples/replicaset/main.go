// Command replicaset runs the control loop of the project's walk-through on
// the embedded in-memory store: a ReplicaSet controller keeps a number of
// Pods running, and a node agent starts them.
//
// With no flags it creates ReplicaSet nsA/rsA with 2 replicas, scales it to
// 3, deletes a Pod and watches it be replaced, scales down to 1, prints the
// final state and exits 0. The trace shows each event, each reconcile and
// its decision, and how long each convergence took.
//
//	go run ./examples/replicaset
//	go run ./examples/replicaset -replicas 5 -workers 4 -v
//	go run ./examples/replicaset -metrics :9090   # then curl localhost:9090/metrics
//	go run ./examples/replicaset -metrics :9090 -inspect   # and open localhost:9090/debug/controlloop/
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/controlloop/controlloop/examples/replicaset/controller"
	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "replicaset:", err)
		os.Exit(1)
	}
}

// run plays the scenario; with -metrics it then serves metrics until ctx
// ends (an interrupt).
func run(ctx context.Context, args []string, out io.Writer) error {
	out = controller.SharedOutput(out) // the trace and the report share it
	fs := flag.NewFlagSet("replicaset", flag.ContinueOnError)
	var flags controller.Flags
	flags.Register(fs)
	metricsAddr := fs.String("metrics", "", "serve Prometheus metrics at this address (e.g. :9090) and keep running until interrupted")
	inspectPage := fs.Bool("inspect", false, "with -metrics, also serve the live inspect page and its JSON at /debug/controlloop/, and keep per-key state")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := flags.Check(); err != nil {
		return err
	}
	if *inspectPage && *metricsAddr == "" {
		return errors.New("-inspect needs -metrics: the page is served next to /metrics")
	}
	logger := flags.Logger()

	reg := prometheus.NewRegistry()
	m, err := metrics.NewControllerProvider(reg)
	if err != nil {
		return err
	}
	rsStore, err := memstore.New[*controller.ReplicaSet](memstore.Options{})
	if err != nil {
		return err
	}
	podStore, err := memstore.New[*controller.Pod](memstore.Options{})
	if err != nil {
		return err
	}
	trace := controller.NewTracer(out)
	sys, err := controller.New(controller.Backend{ReplicaSets: rsStore, Pods: podStore}, controller.Options{
		Workers: flags.Workers, Metrics: m, Logger: logger, Trace: trace, Introspect: *inspectPage,
	})
	if err != nil {
		return err
	}

	runCtx, stopSystem := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- sys.Run(runCtx) }()

	scenario := controller.Scenario{Replicas: flags.Replicas, Trace: trace}
	if err := scenario.Run(ctx, sys, out); err != nil {
		stopSystem()
		return errors.Join(err, <-done)
	}
	if *metricsAddr != "" {
		var page http.Handler
		if *inspectPage {
			if page, err = sys.Inspector(); err != nil {
				stopSystem()
				return errors.Join(err, <-done)
			}
		}
		if err := serveMetrics(ctx, *metricsAddr, reg, page, out); err != nil {
			stopSystem()
			return errors.Join(err, <-done)
		}
	}
	stopSystem()
	return <-done
}

// inspectPath is where -inspect serves the page.
const inspectPath = "/debug/controlloop/"

// newMux serves /metrics from reg and, if page is set, the inspect page
// at inspectPath.
func newMux(reg *prometheus.Registry, page http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	if page != nil {
		mux.Handle(inspectPath, http.StripPrefix(strings.TrimSuffix(inspectPath, "/"), page))
	}
	return mux
}

// serveMetrics serves /metrics, and the inspect page if set, until ctx
// ends (an interrupt).
func serveMetrics(ctx context.Context, addr string, reg *prometheus.Registry, page http.Handler, out io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: newMux(reg, page), ReadHeaderTimeout: 10 * time.Second}
	if page != nil {
		fmt.Fprintf(out, "\nserving the inspect page at http://%s%s\n", ln.Addr(), inspectPath)
	}
	fmt.Fprintf(out, "\nserving metrics at http://%s/metrics; interrupt to stop\n", ln.Addr())
	go func() { <-ctx.Done(); _ = srv.Close() }()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
