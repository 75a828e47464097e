package controller

import (
	"context"
	"log/slog"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/examples/replicaset/controller"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/reconcile"
	"github.com/controlloop/controlloop/reflector"
)

// Backend is where Deployments, ReplicaSets and Pods live.
type Backend struct {
	Deployments interface {
		controlloop.Client[*Deployment]
		controlloop.ListerWatcher[*Deployment]
	}
	controller.Backend
}

// Options configure [New].
type Options struct {
	// Workers per controller. Defaults to 1.
	Workers int
	// ReadyDelay is how long the node agent takes to start a Pod.
	// Defaults to 0: at once.
	ReadyDelay time.Duration
	// Metrics, if set, receives the three controllers' metrics.
	Metrics reconcile.MetricsProvider
	// LeaderElector is the system's election: the manager campaigns once
	// and the three controllers lead together. Defaults to always leading.
	LeaderElector reconcile.LeaderElector
	// Logger receives the library's logs. Defaults to slog.Default().
	Logger *slog.Logger
	// Trace, if set, receives the example's readable trace.
	Trace *controller.Tracer
	// Tracer, if set, receives a span per reconcile of the Deployment and
	// ReplicaSet controllers (reconcile.Options.Tracer).
	Tracer reconcile.Tracer
}

// System is the whole example, wired: the Deployment controller and,
// from the ReplicaSet example, the ReplicaSet controller and the node
// agent, over three informers, run by one manager.
type System struct {
	// Deployments writes Deployments.
	Deployments controlloop.Client[*Deployment]
	// DeploymentReader reads the cache of Deployments.
	DeploymentReader informer.Reader[*Deployment]
	// ReplicaSets is the ReplicaSet example's system, run by the same
	// manager: its clients and readers serve ReplicaSets and Pods.
	ReplicaSets *controller.System
	manager     *reconcile.Manager
	dInf        *informer.Informer[*Deployment]
}

// New wires the example over b.
func New(b Backend, opts Options) (*System, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	manager := &reconcile.Manager{LeaderElector: opts.LeaderElector}
	rsSys, err := controller.New(b.Backend, controller.Options{
		Workers: opts.Workers, Metrics: opts.Metrics, Logger: opts.Logger, Trace: opts.Trace,
		ReadyDelay: opts.ReadyDelay, Manager: manager, Tracer: opts.Tracer,
	})
	if err != nil {
		return nil, err
	}
	var factory informer.Factory
	dInf, err := informer.Shared(&factory, b.Deployments, informer.Options[*Deployment]{
		Reflector: reflector.Options{Logger: opts.Logger}, Logger: opts.Logger,
	})
	if err != nil {
		return nil, err
	}
	sys := &System{Deployments: b.Deployments, DeploymentReader: dInf.Reader(), ReplicaSets: rsSys, manager: manager, dInf: dInf}
	// Through TrackWrites, a Deployment is not reconciled again before the
	// caches show the ReplicaSets and the status its reconcile wrote.
	dCtl, err := reconcile.New[reconcile.Request](&DeploymentReconciler{
		Deployments:      reconcile.TrackWrites[*Deployment](b.Deployments),
		ReplicaSets:      reconcile.TrackWrites[*controller.ReplicaSet](rsSys.ReplicaSets),
		DeploymentReader: sys.DeploymentReader, RSReader: rsSys.RSReader, Trace: opts.Trace,
	}, reconcile.Options[reconcile.Request]{Name: "deployment", Workers: opts.Workers, Metrics: opts.Metrics, Logger: opts.Logger, Tracer: opts.Tracer})
	if err != nil {
		return nil, err
	}
	// A Deployment is reconciled when it changes and when one of its
	// ReplicaSets does: their status brings the ready counts that let the
	// rollout move on.
	if _, err := reconcile.Watch(dCtl, dInf, reconcile.ForObject[*Deployment]()); err != nil {
		return nil, err
	}
	if _, err := reconcile.Watch(dCtl, rsSys.ReplicaSetInformer(), reconcile.ForOwner[*controller.ReplicaSet, *Deployment](true)); err != nil {
		return nil, err
	}
	manager.AddCache(&factory)
	manager.AddController(dCtl)
	return sys, nil
}

// Run runs the informers and controllers until ctx ends.
func (s *System) Run(ctx context.Context) error { return s.manager.Run(ctx) }

// Manager returns the manager that runs the system, for a test kit that
// runs it itself. Run it, or call [System.Run], once.
func (s *System) Manager() *reconcile.Manager { return s.manager }

// WaitUntil waits until cond, which reads the caches, holds: it is
// checked each time one of the three caches advances, never on a timer.
func (s *System) WaitUntil(ctx context.Context, cond func() bool) error {
	return informer.WaitUntil(ctx, cond, s.dInf, s.ReplicaSets.ReplicaSetInformer(), s.ReplicaSets.PodInformer())
}
