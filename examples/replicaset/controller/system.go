package controller

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/admission"
	"github.com/controlloop/controlloop/indexer"
	"github.com/controlloop/controlloop/informer"
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
	// LeaderElector gates both controllers. Defaults to always leading.
	LeaderElector reconcile.LeaderElector
	// Logger receives the library's logs. Defaults to slog.Default().
	Logger *slog.Logger
	// Trace, if set, receives the example's readable trace.
	Trace *Tracer
}

// System is the whole example, wired: the two informers (sharing one
// factory), the ReplicaSet controller and the node agent, run by one
// manager.
type System struct {
	// ReplicaSets is the admitted client: writes are defaulted and
	// validated.
	ReplicaSets *admission.Client[*ReplicaSet]
	Pods        controlloop.Client[*Pod]
	RSLister    informer.Lister[*ReplicaSet]
	PodLister   informer.Lister[*Pod]
	manager     reconcile.Manager
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
	sys := &System{ReplicaSets: rsClient, Pods: b.Pods, RSLister: rsInf.Lister(), PodLister: podInf.Lister()}

	ctlOpts := func(name string) reconcile.Options[reconcile.Request] {
		return reconcile.Options[reconcile.Request]{
			Name: name, Workers: opts.Workers, Metrics: opts.Metrics,
			LeaderElector: opts.LeaderElector, Logger: opts.Logger,
		}
	}
	rsCtl, err := reconcile.New[reconcile.Request](&ReplicaSetReconciler{
		ReplicaSets: b.ReplicaSets, Pods: b.Pods,
		RSLister: sys.RSLister, PodLister: sys.PodLister, Trace: opts.Trace,
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
	if _, err := reconcile.Watch(rsCtl, podInf, reconcile.ForOwner[*Pod]("ReplicaSet", true)); err != nil {
		return nil, err
	}
	agent, err := reconcile.New[reconcile.Request](&NodeAgent{Pods: b.Pods, PodLister: sys.PodLister, Trace: opts.Trace}, ctlOpts("node-agent"))
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
	sys.manager.AddCache(&factory)
	sys.manager.AddController(rsCtl)
	sys.manager.AddController(agent)
	return sys, nil
}

// Run runs the informers and controllers until ctx ends.
func (s *System) Run(ctx context.Context) error { return s.manager.Run(ctx) }

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
