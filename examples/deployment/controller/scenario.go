package controller

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/examples/replicaset/controller"
)

// Scenario is the example's walk-through: create a Deployment, roll it
// out to a new image, then roll it back, each time printing the rollout
// step by step and checking every step within the rollout's bounds.
type Scenario struct {
	// Key names the Deployment. Defaults to nsA/web.
	Key controlloop.Key
	// Replicas of the Deployment. Defaults to 3.
	Replicas int
	// Strategy bounds the rollouts. Defaults to maxSurge 1 and
	// maxUnavailable 0.
	Strategy RollingUpdate
	// Timeout bounds each wait for a rollout to complete. Defaults to 30s.
	Timeout time.Duration
	// Trace receives the controllers' trace.
	Trace *controller.Tracer
	// HideSteps leaves the rollouts' steps, whose interleaving varies
	// from run to run, out of what Run prints; they are checked all the
	// same.
	HideSteps bool
}

// The images the scenario rolls out: from the first to the second, and
// back.
const (
	firstImage  = "nginx:1.27"
	secondImage = "nginx:1.28"
)

// ErrOutOfBounds is returned by [Scenario.Run] when a step of a rollout
// had more Pods than replicas+maxSurge, or fewer ready than
// replicas-maxUnavailable.
var ErrOutOfBounds = errors.New("deployment: a rollout step broke its bounds")

// Run plays the scenario against sys, which must be running, printing
// each rollout's steps and the final state to out. If the trace writes to
// the same place, pass out through controller.SharedOutput first.
func (sc Scenario) Run(ctx context.Context, sys *System, out io.Writer) error {
	report := out
	if sc.HideSteps {
		out = io.Discard
	}
	if sc.Key == (controlloop.Key{}) {
		sc.Key = controlloop.Key{Namespace: "nsA", Name: "web"}
	}
	if sc.Replicas == 0 {
		sc.Replicas = 3
	}
	if sc.Strategy == (RollingUpdate{}) {
		sc.Strategy = RollingUpdate{MaxSurge: 1}
	}
	if sc.Timeout == 0 {
		sc.Timeout = 30 * time.Second
	}
	labels := map[string]string{"app": sc.Key.Name}
	d := &Deployment{
		ObjectMeta: controlloop.ObjectMeta{Namespace: sc.Key.Namespace, Name: sc.Key.Name},
		Spec: DeploymentSpec{
			Replicas: sc.Replicas, Selector: labels, Strategy: sc.Strategy, RevisionHistoryLimit: 1,
			Template: controller.PodTemplate{Labels: labels, Image: firstImage},
		},
	}
	rollouts := []struct {
		say     string
		image   string
		rolling bool // the Deployment has been available: keep maxUnavailable too
		write   func() (*Deployment, error)
	}{
		{fmt.Sprintf("create Deployment %s: %d replicas of %s, maxSurge %d, maxUnavailable %d", sc.Key, sc.Replicas, firstImage, sc.Strategy.MaxSurge, sc.Strategy.MaxUnavailable),
			firstImage, false, func() (*Deployment, error) { return sys.Deployments.Create(ctx, d) }},
		{"roll out " + secondImage, secondImage, true, func() (*Deployment, error) { return sc.setImage(ctx, sys, secondImage) }},
		{"roll back to " + firstImage, firstImage, true, func() (*Deployment, error) { return sc.setImage(ctx, sys, firstImage) }},
	}
	for i, r := range rollouts {
		if i > 0 {
			fmt.Fprintln(out)
		}
		target := d.DeepCopy()
		target.Spec.Template.Image = r.image
		fmt.Fprintf(out, "%s: ReplicaSet %s-%s\n", r.say, sc.Key.Name, TemplateHash(target.Spec.Template))
		if err := sc.follow(ctx, sys, out, target, r.rolling, r.write); err != nil {
			return fmt.Errorf("%s: %w", r.say, err)
		}
	}
	return sc.printState(ctx, sys, report)
}

// setImage changes the template's image, re-reading and retrying on a
// conflict, and returns the Deployment it wrote.
func (sc Scenario) setImage(ctx context.Context, sys *System, image string) (*Deployment, error) {
	for {
		d, err := sys.Deployments.Get(ctx, sc.Key)
		if err != nil {
			return nil, err
		}
		d = d.DeepCopy()
		d.Spec.Template.Image = image
		updated, err := sys.Deployments.Update(ctx, d)
		if !errors.Is(err, controlloop.ErrConflict) {
			return updated, err
		}
	}
}

// follow makes a rollout to target's template with write, and prints
// each of its steps as the caches show it, from the Pods before the write
// until the rollout is complete: each change of the Pods' counts is a
// step. With rolling, every step must keep the bounds; without (the first
// rollout, from no Pods), only the surge. The wait does not poll: it is
// woken by the caches.
func (sc Scenario) follow(ctx context.Context, sys *System, out io.Writer, target *Deployment, rolling bool, write func() (*Deployment, error)) error {
	ctx, cancel := context.WithTimeout(ctx, sc.Timeout)
	defer cancel()
	hash, spec := TemplateHash(target.Spec.Template), target.Spec
	var last string
	steps := 0
	observe := func() (podCount, error) {
		c := countPods(sys, target)
		line := c.String(hash)
		if line == last {
			return c, nil
		}
		last = line
		steps++
		most, least := spec.Strategy.bounds(spec.Replicas)
		atLeast := ""
		if rolling {
			atLeast = fmt.Sprintf(" (at least %d)", least)
		}
		fmt.Fprintf(out, "  step %d: %s | %d pods (at most %d), %d ready%s\n", steps, line,
			c.total, most, c.ready, atLeast)
		if err := c.check(spec, rolling); err != nil {
			return c, fmt.Errorf("%w: step %d: %v", ErrOutOfBounds, steps, err)
		}
		return c, nil
	}
	if _, err := observe(); err != nil {
		return err
	}
	written, err := write()
	if err != nil {
		return err
	}
	var broke error
	done := func() bool {
		c, err := observe()
		if err != nil {
			broke = err
			return true
		}
		// Complete at the written generation: the controller has
		// reconciled the write, so the caches cannot pass for done
		// before it has acted.
		d, err := sys.DeploymentReader.Get(sc.Key)
		return err == nil && d.Generation == written.Generation && d.Complete() &&
			c.total == spec.Replicas && c.ready == spec.Replicas && c.pods[hash] == spec.Replicas
	}
	if err := sys.WaitUntil(ctx, done); err != nil {
		return fmt.Errorf("the rollout did not complete: %w", err)
	}
	return broke
}

// podCount is a Deployment's Pods as the cache shows them, by template
// hash.
type podCount struct {
	pods, running map[string]int
	total, ready  int
}

// countPods counts the Pods of d, by its selector: every Pod of every one
// of its ReplicaSets carries the selector's labels. The ReplicaSets of d
// with no Pods count too, at zero.
func countPods(sys *System, d *Deployment) podCount {
	c := podCount{pods: map[string]int{}, running: map[string]int{}}
	for _, r := range sys.ReplicaSets.RSReader.List(controlloop.Selector{Namespace: d.Namespace, Labels: d.Spec.Selector}) {
		if ref, ok := r.ControllerRef(); ok && ref.Name == d.Name {
			c.pods[r.Spec.Template.Labels[HashLabel]] += 0
		}
	}
	for _, p := range sys.ReplicaSets.PodReader.List(controlloop.Selector{Namespace: d.Namespace, Labels: d.Spec.Selector}) {
		h := p.Labels[HashLabel]
		c.pods[h]++
		c.total++
		if p.Phase == controller.Running {
			c.running[h]++
			c.ready++
		}
	}
	return c
}

// check says which bound c breaks, if any.
func (c podCount) check(spec DeploymentSpec, rolling bool) error {
	most, least := spec.Strategy.bounds(spec.Replicas)
	if c.total > most {
		return fmt.Errorf("%d pods, more than replicas+maxSurge = %d", c.total, most)
	}
	if rolling && c.ready < least {
		return fmt.Errorf("%d pods ready, fewer than replicas-maxUnavailable = %d", c.ready, least)
	}
	return nil
}

// String describes c, old templates first and the template of hash last.
func (c podCount) String(hash string) string {
	var parts []string
	for _, h := range slices.Sorted(maps.Keys(c.pods)) {
		if h != hash {
			parts = append(parts, fmt.Sprintf("old %s: %d pods, %d ready", h, c.pods[h], c.running[h]))
		}
	}
	parts = append(parts, fmt.Sprintf("new %s: %d pods, %d ready", hash, c.pods[hash], c.running[hash]))
	return strings.Join(parts, ", ")
}

func (sc Scenario) printState(ctx context.Context, sys *System, out io.Writer) error {
	d, err := sys.Deployments.Get(ctx, sc.Key)
	if err != nil {
		return err
	}
	rsList, err := sys.ReplicaSets.ReplicaSets.List(ctx, controlloop.ListOptions{Selector: controlloop.Selector{Namespace: sc.Key.Namespace}})
	if err != nil {
		return err
	}
	pods, err := sys.ReplicaSets.Pods.List(ctx, controlloop.ListOptions{Selector: controlloop.Selector{Namespace: sc.Key.Namespace}})
	if err != nil {
		return err
	}
	slices.SortFunc(rsList.Items, func(a, b *controller.ReplicaSet) int { return cmp.Compare(revision(b), revision(a)) })
	// One write, so that trace lines from workers still running cannot
	// land in the middle of the report.
	var b strings.Builder
	fmt.Fprintf(&b, "\nfinal state\n  Deployment %s: %s\n", sc.Key, describe(d))
	for _, rs := range rsList.Items {
		fmt.Fprintf(&b, "  ReplicaSet %s: revision %d, %s, spec.replicas %d, status %d/%d ready\n",
			controlloop.KeyOf(rs), revision(rs), rs.Spec.Template.Image, *rs.Spec.Replicas, rs.Status.ReadyReplicas, rs.Status.Replicas)
	}
	for _, p := range pods.Items {
		ref, _ := p.ControllerRef()
		fmt.Fprintf(&b, "  Pod %s: %s, %s, owned by %s %s\n", controlloop.KeyOf(p), p.Image, p.Phase, ref.Kind, ref.Name)
	}
	_, err = io.WriteString(out, b.String())
	return err
}
