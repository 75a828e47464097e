package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/admission"
	"github.com/controlloop/controlloop/indexer"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/inspect"
	"github.com/controlloop/controlloop/reconcile"
	"github.com/controlloop/controlloop/reflector"
)

// Backend is where ReplicaSets and Pods live: the in-memory store, or etcd.
type Backend struct {
	ReplicaSets interface {
		controlloop.Client[*ReplicaSet]
		controlloop.ListerWatcher[*ReplicaSet]
	}
	Pods interface {
		controlloop.Client[*Pod]
		controlloop.ListerWatcher[*Pod]
	}
}

// Options configure [New].
type Options struct {
	// Workers per controller. Defaults to 1.
	Workers int
	// Metrics, if set, receives both controllers' metrics.
	Metrics reconcile.MetricsProvider
	// LeaderElector is the system's election: the manager campaigns once
	// and both controllers lead together. Defaults to always leading.
	LeaderElector reconcile.LeaderElector
	// Logger receives the library's logs. Defaults to slog.Default().
	Logger *slog.Logger
	// Trace, if set, receives the example's readable trace.
	Trace *Tracer
	// Introspect keeps per-key state and reasons in both controllers
	// (reconcile.Options.Introspect), for [System.Inspector].
	Introspect bool
	// Tracer, if set, receives a span per reconcile and per write of the
	// ReplicaSet controller (reconcile.Options.Tracer).
	Tracer reconcile.Tracer
	// ReadyDelay is how long the node agent takes to start a Pod
	// (NodeAgent.ReadyDelay). Defaults to 0: at once.
	ReadyDelay time.Duration
	// Manager, if set, is where New adds the system's caches and
	// controllers, for a program that runs its own controllers beside
	// them (the Deployment example does); its LeaderElector is the
	// system's, and LeaderElector above is ignored. [System.Run] runs it:
	// run either, once. Defaults to a Manager of the system's own.
	Manager *reconcile.Manager
}

// System is the whole example, wired: the two informers (sharing one
// factory), the ReplicaSet controller and the node agent, run by one
// manager.
type System struct {
	// ReplicaSets is the admitted client: writes are defaulted and
	// validated.
	ReplicaSets *admission.Client[*ReplicaSet]
	Pods        controlloop.Client[*Pod]
	RSReader    informer.Reader[*ReplicaSet]
	PodReader   informer.Reader[*Pod]
	manager     *reconcile.Manager
	rsInf       *informer.Informer[*ReplicaSet]
	podInf      *informer.Informer[*Pod]
	rsCtl       *reconcile.Controller[reconcile.Request]
	controllers []*reconcile.Controller[reconcile.Request] // for Inspector
}

// New wires the example over b.
func New(b Backend, opts Options) (*System, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	rsClient, err := Admit(b.ReplicaSets)
	if err != nil {
		return nil, err
	}
	var factory informer.Factory
	refl := reflector.Options{Logger: opts.Logger}
	rsInf, err := informer.Shared(&factory, b.ReplicaSets, informer.Options[*ReplicaSet]{Reflector: refl, Logger: opts.Logger})
	if err != nil {
		return nil, err
	}
	podInf, err := informer.Shared(&factory, b.Pods, informer.Options[*Pod]{
		Reflector: refl, Logger: opts.Logger,
		Indexers: indexer.Indexers[*Pod]{OwnerIndex: indexByOwner},
	})
	if err != nil {
		return nil, err
	}
	sys := &System{ReplicaSets: rsClient, Pods: b.Pods, RSReader: rsInf.Reader(), PodReader: podInf.Reader(), rsInf: rsInf, podInf: podInf}

	ctlOpts := func(name string) reconcile.Options[reconcile.Request] {
		return reconcile.Options[reconcile.Request]{
			Name: name, Workers: opts.Workers, Metrics: opts.Metrics, Logger: opts.Logger,
			Introspect: opts.Introspect, Tracer: opts.Tracer,
		}
	}
	// The reconciler writes through TrackWrites: a ReplicaSet is not
	// reconciled again until the caches show the Pods and the status its
	// last reconcile wrote (reconcile's "Read your own writes"). With a
	// Tracer, every write is also a span of the reconcile.
	rsWrites := controlloop.Client[*ReplicaSet](reconcile.TrackWrites[*ReplicaSet](b.ReplicaSets))
	podWrites := controlloop.Client[*Pod](reconcile.TrackWrites[*Pod](b.Pods))
	agentWrites := controlloop.Client[*Pod](b.Pods)
	if opts.Tracer != nil {
		rsWrites, podWrites = reconcile.TracedClient(rsWrites, opts.Tracer), reconcile.TracedClient(podWrites, opts.Tracer)
		agentWrites = reconcile.TracedClient(agentWrites, opts.Tracer)
	}
	rsCtl, err := reconcile.New[reconcile.Request](&ReplicaSetReconciler{
		ReplicaSets: rsWrites, Pods: podWrites,
		RSReader: sys.RSReader, PodReader: sys.PodReader, Trace: opts.Trace,
	}, ctlOpts("replicaset"))
	if err != nil {
		return nil, err
	}
	// A ReplicaSet is reconciled whenever it changes, and whenever one of
	// its Pods does. That includes its own status writes: a reconcile
	// compares the status it computes with the cached ReplicaSet, which
	// may not yet show the previous reconcile's write, so it must see that
	// write arrive to correct a skipped update. (Filtering with
	// GenerationChanged here loses exactly that: a test caught it.) Such a
	// reconcile finds nothing to do and writes nothing, so it cannot loop.
	if _, err := reconcile.Watch(rsCtl, rsInf, reconcile.ForObject[*ReplicaSet](), reconcile.ResourceVersionChanged[*ReplicaSet]()); err != nil {
		return nil, err
	}
	if _, err := reconcile.Watch(rsCtl, podInf, reconcile.ForOwner[*Pod, *ReplicaSet](true)); err != nil {
		return nil, err
	}
	sys.rsCtl = rsCtl
	agent, err := reconcile.New[reconcile.Request](&NodeAgent{Pods: agentWrites, PodReader: sys.PodReader, Trace: opts.Trace, ReadyDelay: opts.ReadyDelay}, ctlOpts("node-agent"))
	if err != nil {
		return nil, err
	}
	if _, err := reconcile.Watch(agent, podInf, reconcile.ForObject[*Pod](), reconcile.ResourceVersionChanged[*Pod]()); err != nil {
		return nil, err
	}
	if opts.Trace != nil {
		if err := traceEvents(rsInf, podInf, opts.Trace); err != nil {
			return nil, err
		}
	}
	sys.manager = opts.Manager
	if sys.manager == nil {
		sys.manager = &reconcile.Manager{LeaderElector: opts.LeaderElector}
	}
	sys.manager.AddCache(&factory)
	sys.manager.AddController(rsCtl)
	sys.manager.AddController(agent)
	sys.controllers = append(sys.controllers, rsCtl, agent)
	return sys, nil
}

// Inspector returns the read-only page and JSON over both controllers
// and both caches (package inspect); with Options.Introspect it shows
// per-key state too.
func (s *System) Inspector() (*inspect.Handler, error) {
	h, err := inspect.New(inspect.Options{})
	if err != nil {
		return nil, err
	}
	for _, c := range s.controllers {
		if err := inspect.AddController(h, c); err != nil {
			return nil, err
		}
	}
	return h, errors.Join(inspect.AddInformer(h, s.rsInf), inspect.AddInformer(h, s.podInf))
}

// ReplicaSetInformer returns the informer of ReplicaSets, for another
// controller of the program to watch (sharing its cache).
func (s *System) ReplicaSetInformer() *informer.Informer[*ReplicaSet] { return s.rsInf }

// PodInformer returns the informer of Pods, for another controller of the
// program to watch, or to wait on (informer.WaitUntil).
func (s *System) PodInformer() *informer.Informer[*Pod] { return s.podInf }

// Run runs the informers and controllers until ctx ends.
func (s *System) Run(ctx context.Context) error { return s.manager.Run(ctx) }

// WaitUntilReconciled waits until the ReplicaSet controller has
// successfully reconciled key on a cache at version (a ReplicaSet's
// resource version) or newer: see reconcile.Controller.WaitUntilReconciled.
func (s *System) WaitUntilReconciled(ctx context.Context, key controlloop.Key, version string) error {
	return s.rsCtl.WaitUntilReconciled(ctx, key, version)
}

// WaitUntil waits until cond, which reads the caches, holds: it is checked
// each time either cache advances (informer.WaitUntil), never on a timer.
func (s *System) WaitUntil(ctx context.Context, cond func() bool) error {
	return informer.WaitUntil(ctx, cond, s.rsInf, s.podInf)
}

func traceEvents(rsInf *informer.Informer[*ReplicaSet], podInf *informer.Informer[*Pod], t *Tracer) error {
	_, err := rsInf.AddHandler(informer.HandlerFuncs[*ReplicaSet]{
		AddFunc: func(rs *ReplicaSet, _ bool) { t.Printf("event: ReplicaSet %s added", controlloop.KeyOf(rs)) },
		UpdateFunc: func(old, rs *ReplicaSet) {
			if old.ResourceVersion != rs.ResourceVersion {
				t.Printf("event: ReplicaSet %s updated: %s", controlloop.KeyOf(rs), describe(rs))
			}
		},
		DeleteFunc: func(rs *ReplicaSet, _ bool) { t.Printf("event: ReplicaSet %s deleted", controlloop.KeyOf(rs)) },
	}, informer.HandlerOptions{})
	if err != nil {
		return err
	}
	_, err = podInf.AddHandler(informer.HandlerFuncs[*Pod]{
		AddFunc: func(p *Pod, _ bool) { t.Printf("event: Pod %s added (%s)", controlloop.KeyOf(p), p.Phase) },
		UpdateFunc: func(old, p *Pod) {
			if old.Phase != p.Phase {
				t.Printf("event: Pod %s %s -> %s", controlloop.KeyOf(p), old.Phase, p.Phase)
			}
		},
		DeleteFunc: func(p *Pod, _ bool) { t.Printf("event: Pod %s deleted", controlloop.KeyOf(p)) },
	}, informer.HandlerOptions{})
	return err
}

func describe(rs *ReplicaSet) string {
	replicas := "unset"
	if rs.Spec.Replicas != nil {
		replicas = fmt.Sprint(*rs.Spec.Replicas)
	}
	s := fmt.Sprintf("generation %d, spec.replicas %s, status %d/%d ready (observed generation %d)",
		rs.Generation, replicas, rs.Status.ReadyReplicas, rs.Status.Replicas, rs.Status.ObservedGeneration)
	if rs.Status.Invalid != "" {
		s += ", invalid: " + rs.Status.Invalid
	}
	return s
}
