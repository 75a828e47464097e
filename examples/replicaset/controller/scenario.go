package controller

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/controlloop/controlloop"
)

// Scenario is the example's walk-through: create a ReplicaSet, scale it
// up, lose a Pod, scale it down, each time waiting until the controllers
// have converged.
type Scenario struct {
	// Key names the ReplicaSet. Defaults to nsA/rsA.
	Key controlloop.Key
	// Replicas to start with; the scenario then scales to Replicas+1, and
	// finally down to 1. Defaults to 2.
	Replicas int
	// Timeout bounds each wait for convergence. Defaults to 30s.
	Timeout time.Duration
	// Trace receives the steps and how long each convergence took.
	Trace *Tracer
}

// Run plays the scenario against sys, which must be running, and prints
// the final state to out. If the trace writes to the same place, pass out
// through [SharedOutput] first.
func (sc Scenario) Run(ctx context.Context, sys *System, out io.Writer) error {
	if sc.Key == (controlloop.Key{}) {
		sc.Key = controlloop.Key{Namespace: "nsA", Name: "rsA"}
	}
	if sc.Replicas == 0 {
		sc.Replicas = 2
	}
	if sc.Timeout == 0 {
		sc.Timeout = 30 * time.Second
	}
	labels := map[string]string{"app": sc.Key.Name}
	rs := &ReplicaSet{
		ObjectMeta: controlloop.ObjectMeta{Namespace: sc.Key.Namespace, Name: sc.Key.Name},
		Spec: ReplicaSetSpec{
			Replicas: &sc.Replicas,
			Selector: labels,
			Template: PodTemplate{Labels: labels, Image: "nginx:1.27"},
		},
	}
	// Each step acts and returns what convergence must include: the
	// version of the ReplicaSet it wrote, which the controller must have
	// reconciled (so that a cache that has not yet seen the change cannot
	// pass for converged), or, for a Pod's delete (which returns no
	// version), what the cache must show.
	podKey := controlloop.Key{Namespace: sc.Key.Namespace, Name: sc.Key.Name + "-0"}
	steps := []struct {
		say string
		act func() (wrote string, seen func() bool, err error)
	}{
		{fmt.Sprintf("create ReplicaSet %s with %d replicas", sc.Key, sc.Replicas), func() (string, func() bool, error) {
			created, err := sys.ReplicaSets.Create(ctx, rs)
			if err != nil {
				return "", nil, err
			}
			return created.ResourceVersion, nil, nil
		}},
		{fmt.Sprintf("scale %s to %d", sc.Key, sc.Replicas+1), func() (string, func() bool, error) {
			v, err := sc.scale(ctx, sys, sc.Replicas+1)
			return v, nil, err
		}},
		{fmt.Sprintf("delete Pod %s and watch it be replaced", podKey), func() (string, func() bool, error) {
			old, err := sys.Pods.Get(ctx, podKey)
			if err != nil {
				return "", nil, err
			}
			replaced := func() bool {
				p, err := sys.PodReader.Get(podKey)
				return err == nil && p.UID != old.UID
			}
			return "", replaced, sys.Pods.Delete(ctx, podKey, controlloop.DeleteOptions{ResourceVersion: old.ResourceVersion})
		}},
		{fmt.Sprintf("scale %s down to 1", sc.Key), func() (string, func() bool, error) {
			v, err := sc.scale(ctx, sys, 1)
			return v, nil, err
		}},
	}
	for i, step := range steps {
		sc.Trace.Printf("step %d: %s", i+1, step.say)
		start := time.Now()
		wrote, seen, err := step.act()
		if err != nil {
			return fmt.Errorf("step %d (%s): %w", i+1, step.say, err)
		}
		if err := sc.waitConverged(ctx, sys, wrote, seen); err != nil {
			return fmt.Errorf("step %d (%s): %w", i+1, step.say, err)
		}
		sc.Trace.Printf("step %d: converged in %v", i+1, time.Since(start).Round(time.Microsecond))
	}
	return sc.printState(ctx, sys, out)
}

// scale sets the replica count, re-reading and retrying on a conflict,
// and returns the version it wrote.
func (sc Scenario) scale(ctx context.Context, sys *System, replicas int) (string, error) {
	for {
		rs, err := sys.ReplicaSets.Get(ctx, sc.Key)
		if err != nil {
			return "", err
		}
		rs = rs.DeepCopy()
		rs.Spec.Replicas = &replicas
		updated, err := sys.ReplicaSets.Update(ctx, rs)
		if errors.Is(err, controlloop.ErrConflict) {
			continue
		}
		if err != nil {
			return "", err
		}
		return updated.ResourceVersion, nil
	}
}

// waitConverged waits until the ReplicaSet controller has reconciled the
// version wrote (if set), then until the caches show the ReplicaSet
// converged and exactly its desired Pods, all running (status and reality
// agree), and seen, if set, holds. Neither wait polls: the first is
// woken by the controller's reconciles, the second by the caches'
// changes.
func (sc Scenario) waitConverged(ctx context.Context, sys *System, wrote string, seen func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, sc.Timeout)
	defer cancel()
	if wrote != "" {
		if err := sys.WaitUntilReconciled(ctx, sc.Key, wrote); err != nil {
			return fmt.Errorf("%s was not reconciled at version %s: %w", sc.Key, wrote, err)
		}
	}
	err := sys.WaitUntil(ctx, func() bool { return (seen == nil || seen()) && converged(sys, sc.Key) })
	if err != nil {
		return fmt.Errorf("%s did not converge: %w", sc.Key, err)
	}
	return nil
}

func converged(sys *System, key controlloop.Key) bool {
	rs, err := sys.RSReader.Get(key)
	if err != nil || !rs.Converged() {
		return false
	}
	owned, _ := sys.PodReader.ByIndex(OwnerIndex, key.String())
	pods := controlloop.Collect(owned)
	for _, p := range pods {
		if p.Phase != Running {
			return false
		}
	}
	return len(pods) == *rs.Spec.Replicas
}

func (sc Scenario) printState(ctx context.Context, sys *System, out io.Writer) error {
	rs, err := sys.ReplicaSets.Get(ctx, sc.Key)
	if err != nil {
		return err
	}
	list, err := sys.Pods.List(ctx, controlloop.ListOptions{Selector: controlloop.Selector{Namespace: sc.Key.Namespace}})
	if err != nil {
		return err
	}
	// One write, so that trace lines from workers still running cannot
	// land in the middle of the report.
	var b strings.Builder
	fmt.Fprintf(&b, "\nfinal state\n  ReplicaSet %s: %s\n", sc.Key, describe(rs))
	for _, p := range list.Items {
		ref, _ := p.ControllerRef()
		fmt.Fprintf(&b, "  Pod %s: %s, owned by %s %s, labels %v\n", controlloop.KeyOf(p), p.Phase, ref.Kind, ref.Name, p.Labels)
	}
	_, err = io.WriteString(out, b.String())
	return err
}
