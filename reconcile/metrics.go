package reconcile

import (
	"time"

	"github.com/controlloop/controlloop/workqueue"
)

// MetricsProvider creates a controller's metrics, and those of its work
// queue under the controller's name. Package metrics implements it for
// Prometheus.
type MetricsProvider interface {
	workqueue.MetricsProvider
	// ForController returns the metrics of the controller called
	// name, which runs up to workers reconciles at once.
	ForController(name string, workers int) ControllerMetrics
}

// ControllerMetrics records what a controller does. Its methods are called
// from the workers concurrently.
type ControllerMetrics interface {
	// ReconcileStarted and ReconcileFinished bracket each reconcile; the
	// difference of their counts is the number of active workers.
	ReconcileStarted()
	ReconcileFinished(Observation)
}

// Outcome is what a reconcile came to, as the result label of
// controller_runtime_reconcile_total names it.
type Outcome uint8

// The outcomes of a reconcile.
const (
	// OutcomeSuccess: no error and no RequeueAfter.
	OutcomeSuccess Outcome = iota
	// OutcomeError: an error (a terminal one too, or a panic).
	OutcomeError
	// OutcomeRequeueAfter: no error, and a positive [Result.RequeueAfter].
	OutcomeRequeueAfter
)

// String returns the result label: "success", "error" or "requeue_after".
func (o Outcome) String() string {
	switch o {
	case OutcomeSuccess:
		return "success"
	case OutcomeError:
		return "error"
	case OutcomeRequeueAfter:
		return "requeue_after"
	}
	return "unknown"
}

// Observation describes one finished reconcile.
type Observation struct {
	Outcome  Outcome
	Terminal bool // the error was terminal
	Panicked bool // the reconciler panicked
	TimedOut bool // the per-reconcile timeout expired
	Duration time.Duration
}
