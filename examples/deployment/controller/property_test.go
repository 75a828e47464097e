package controller_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/examples/deployment/controller"
	rs "github.com/controlloop/controlloop/examples/replicaset/controller"
	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/reconcile/reconciletest"
	"pgregory.net/rapid"
)

// TestRolloutProperty is the rollout's promise (issue 18): under random
// faults of all three stores (broken, failing and delayed watches,
// expired and compacted history, failing lists, outages, write conflicts,
// write errors and lost replies, duplicated events) and leadership
// changes, while the template keeps changing (to new images and back to
// earlier ones, mid-rollout or not), and so do the replicas (up and down,
// to zero too) and the strategy (maxSurge and maxUnavailable, up to
// math.MaxInt), across random revision history limits, ready delays and
// workers:
//
//   - Always, after every write the controllers make and after every
//     step, counted over the Pods in the store that carry the
//     Deployment's selector (every Pod of each of its ReplicaSets, old
//     and new): at most replicas+maxSurge Pods, and at least
//     replicas-maxUnavailable of them Running, each of maxSurge and
//     maxUnavailable counted as at most replicas. Since the last time the
//     rollout was done, the bounds of every spec set since hold: the
//     most and the least of them (a step decided on an earlier spec may
//     still be under way, and a scale up cannot be running at once). The
//     schedule starts once the first rollout (from no Pods) has completed,
//     so the second bound holds from the start.
//   - Whenever the system is steady, and at the end: the rollout is done.
//     Exactly replicas Pods, all Running, all of the current template
//     (its hash, its image, owned by its ReplicaSet); that ReplicaSet at
//     replicas and the newest revision, every other at zero, and no more
//     of them than the revision history limit; the status says so.
//
// CI runs it with 200 schedules:
//
//	go test -run '^TestRolloutProperty$' -rapid.checks=200 ./examples/deployment/controller/
func TestRolloutProperty(t *testing.T) {
	reconciletest.Check(t, reconciletest.Property[*world]{
		Setup: setupWorld,
		Actions: map[string]func(*rapid.T, *world){
			"setImage":    setImage,
			"scale":       scale,
			"setStrategy": setStrategy,
		},
		Always:    (*world).withinBounds,
		Invariant: (*world).rolledOut,
		Faults:    reconciletest.AllFaults, // names are deterministic: a lost reply is retried into ErrAlreadyExists
	})
}

// world is one schedule's system.
type world struct {
	w           *reconciletest.World
	deployments *reconciletest.Store[*controller.Deployment]
	replicaSets *reconciletest.Store[*rs.ReplicaSet]
	pods        *reconciletest.Store[*rs.Pod]
	key         controlloop.Key
	spec        controller.DeploymentSpec // as created; the selector never changes
	images      []string                  // the images set so far, oldest first

	mu          sync.Mutex // Always runs on the controllers' goroutines
	most, least int        // the widest bounds of the specs set since the rollout was last done
}

func setupWorld(t *rapid.T, w *reconciletest.World) *world {
	// Small histories make expiry likelier.
	small := memstore.Options{HistorySize: 8}
	s := &world{
		w:           w,
		deployments: reconciletest.NewStore[*controller.Deployment](w, "deployments", small),
		replicaSets: reconciletest.NewStore[*rs.ReplicaSet](w, "replicasets", small),
		pods:        reconciletest.NewStore[*rs.Pod](w, "pods", small),
		key:         controlloop.Key{Namespace: "ns", Name: "web"},
	}
	labels := map[string]string{"app": "web"}
	s.spec = controller.DeploymentSpec{
		Replicas: rapid.IntRange(1, 4).Draw(t, "replicas"), Selector: labels, Strategy: drawStrategy(t),
		RevisionHistoryLimit: rapid.IntRange(0, 2).Draw(t, "revisionHistoryLimit"),
		Template:             rs.PodTemplate{Labels: labels, Image: "nginx:1"},
	}
	s.images = []string{s.spec.Template.Image}
	s.most, s.least = bounds(s.spec)
	sys, err := controller.New(controller.Backend{
		Deployments: s.deployments.Client(),
		Backend:     rs.Backend{ReplicaSets: s.replicaSets.Client(), Pods: s.pods.Client()},
	}, controller.Options{
		Workers:       rapid.IntRange(1, 2).Draw(t, "workers"),
		ReadyDelay:    time.Duration(rapid.SampledFrom([]int{0, 100, 1000}).Draw(t, "ready delay ms")) * time.Millisecond,
		LeaderElector: w.Elector("deployment"),
		Logger:        w.Logger(),
		Tracer:        w.Tracer(),
	})
	if err != nil {
		t.Fatal(err)
	}
	w.Start(sys.Manager())
	if _, err := s.deployments.Create(context.Background(), &controller.Deployment{
		ObjectMeta: controlloop.ObjectMeta{Namespace: s.key.Namespace, Name: s.key.Name},
		Spec:       s.spec,
	}); err != nil {
		t.Fatal(err)
	}
	if err := w.Steady(); err != nil {
		t.Fatal(err)
	}
	if err := s.rolledOut(); err != nil {
		t.Fatalf("the first rollout: %v", err)
	}
	return s
}

// setImage sets the template to a new image, back to the one before the
// current one (a rollback), or to any image used so far.
func setImage(t *rapid.T, s *world) {
	image := fmt.Sprintf("nginx:%d", len(s.images)+1)
	switch rapid.SampledFrom([]string{"new", "back", "any"}).Draw(t, "to") {
	case "back":
		if len(s.images) < 2 {
			t.Skip("nothing to roll back to")
		}
		image = s.images[len(s.images)-2]
	case "any":
		image = rapid.SampledFrom(s.images).Draw(t, "image")
	}
	s.set(t, func(spec *controller.DeploymentSpec) { spec.Template.Image = image })
	s.images = append(s.images, image)
}

// scale sets the replicas, up or down, to zero too.
func scale(t *rapid.T, s *world) {
	replicas := rapid.IntRange(0, 4).Draw(t, "replicas")
	s.set(t, func(spec *controller.DeploymentSpec) { spec.Replicas = replicas })
}

// setStrategy sets maxSurge and maxUnavailable.
func setStrategy(t *rapid.T, s *world) {
	strategy := drawStrategy(t)
	s.set(t, func(spec *controller.DeploymentSpec) { spec.Strategy = strategy })
}

// drawStrategy draws a valid strategy: small values, and math.MaxInt (no
// limit, beyond replicas), not both zero.
func drawStrategy(t *rapid.T) controller.RollingUpdate {
	values := []int{0, 1, 2, math.MaxInt}
	surge := rapid.SampledFrom(values).Draw(t, "maxSurge")
	if surge == 0 {
		values = values[1:]
	}
	return controller.RollingUpdate{MaxSurge: surge, MaxUnavailable: rapid.SampledFrom(values).Draw(t, "maxUnavailable")}
}

// set changes the spec, as a user would, whether or not a rollout is
// under way. The bounds widen to the new spec's before the write, since
// the controllers may act on it at once.
func (s *world) set(t *rapid.T, change func(*controller.DeploymentSpec)) {
	ctx := context.Background()
	d, err := s.deployments.Get(ctx, s.key)
	if err != nil {
		t.Fatal(err)
	}
	d = d.DeepCopy()
	change(&d.Spec)
	most, least := bounds(d.Spec)
	s.mu.Lock()
	s.most, s.least = max(s.most, most), min(s.least, least)
	s.mu.Unlock()
	if _, err := s.deployments.Update(ctx, d); err != nil {
		t.Fatal(err)
	}
}

// bounds are the rollout's bounds for spec, as the package doc states
// them: maxSurge and maxUnavailable beyond replicas count as replicas.
func bounds(spec controller.DeploymentSpec) (most, least int) {
	r, u := spec.Replicas, spec.Strategy
	return r + min(u.MaxSurge, r), r - min(u.MaxUnavailable, r)
}

// withinBounds checks the rollout's bounds on the Pods in the store.
func (s *world) withinBounds() error {
	s.mu.Lock()
	most, least := s.most, s.least
	s.mu.Unlock()
	total, running := 0, 0
	for _, p := range s.pods.All() {
		if (controlloop.Selector{Namespace: s.key.Namespace, Labels: s.spec.Selector}).MatchesLabels(p.Labels) {
			total++
			if p.Phase == rs.Running {
				running++
			}
		}
	}
	var errs []error
	if total > most {
		errs = append(errs, fmt.Errorf("%d pods, more than replicas+maxSurge = %d (the most of the specs since the last rollout)", total, most))
	}
	if running < least {
		errs = append(errs, fmt.Errorf("%d pods running, fewer than replicas-maxUnavailable = %d (the least of the specs since the last rollout)", running, least))
	}
	return errors.Join(errs...)
}

// rolledOut checks that the rollout to the current template is done.
func (s *world) rolledOut() error {
	ctx := context.Background()
	d, err := s.deployments.Get(ctx, s.key)
	if err != nil {
		return err
	}
	hash := controller.TemplateHash(d.Spec.Template)
	current := s.key.Name + "-" + hash
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !d.Complete() {
		fail("Deployment status %+v at generation %d: not complete", d.Status, d.Generation)
	}
	newest, currentRev, olds := 0, 0, 0
	for _, r := range s.replicaSets.All() {
		rev := 0
		fmt.Sscan(r.Labels[controller.RevisionLabel], &rev)
		newest = max(newest, rev)
		want := 0
		if r.Name == current {
			want, currentRev = d.Spec.Replicas, rev
		} else {
			olds++
		}
		if *r.Spec.Replicas != want {
			fail("ReplicaSet %s (revision %d) at %d replicas, want %d", r.Name, rev, *r.Spec.Replicas, want)
		}
	}
	if currentRev == 0 || currentRev != newest {
		fail("the current ReplicaSet %s at revision %d, the newest is %d", current, currentRev, newest)
	}
	if olds > d.Spec.RevisionHistoryLimit {
		fail("%d old ReplicaSets kept, beyond the revision history limit %d", olds, d.Spec.RevisionHistoryLimit)
	}
	pods := 0
	for k, p := range s.pods.All() {
		pods++
		ref, _ := p.ControllerRef()
		if ref.Name != current || p.Labels[controller.HashLabel] != hash || p.Image != d.Spec.Template.Image || p.Phase != rs.Running {
			fail("pod %s: %s, owned by %s, hash %s, image %s; want Running of %s", k, p.Phase, ref.Name, p.Labels[controller.HashLabel], p.Image, current)
		}
	}
	if pods != d.Spec.Replicas {
		fail("%d pods, want %d", pods, d.Spec.Replicas)
	}
	if len(errs) == 0 {
		// Done: from here only the current spec's bounds hold.
		s.mu.Lock()
		s.most, s.least = bounds(d.Spec)
		s.mu.Unlock()
	}
	return errors.Join(errs...)
}
