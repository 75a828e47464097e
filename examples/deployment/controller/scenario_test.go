package controller_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/examples/deployment/controller"
	rs "github.com/controlloop/controlloop/examples/replicaset/controller"
	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/reconcile/reconciletest"
)

// kitSystem is the example's system over a test World's stores.
type kitSystem struct {
	*controller.System
	w           *reconciletest.World
	deployments *reconciletest.Store[*controller.Deployment]
	replicaSets *reconciletest.Store[*rs.ReplicaSet]
	pods        *reconciletest.Store[*rs.Pod]
}

func newKitSystem(t *testing.T, opts controller.Options) *kitSystem {
	t.Helper()
	w := reconciletest.New(t, reconciletest.Options{})
	deployments := reconciletest.NewStore[*controller.Deployment](w, "deployments", memstore.Options{})
	replicaSets := reconciletest.NewStore[*rs.ReplicaSet](w, "replicasets", memstore.Options{})
	pods := reconciletest.NewStore[*rs.Pod](w, "pods", memstore.Options{})
	opts.Logger, opts.Tracer = w.Logger(), w.Tracer()
	sys, err := controller.New(controller.Backend{
		Deployments: deployments.Client(),
		Backend:     rs.Backend{ReplicaSets: replicaSets.Client(), Pods: pods.Client()},
	}, opts)
	if err != nil {
		t.Fatal(err)
	}
	w.Start(sys.Manager())
	return &kitSystem{System: sys, w: w, deployments: deployments, replicaSets: replicaSets, pods: pods}
}

// stepLine is one printed step: "step 2: old 48916ce1: 3 pods, 3 ready,
// new cd9e6a4a: 1 pods, 0 ready | 4 pods (at most 4), 3 ready (at least 3)".
var stepLine = regexp.MustCompile(`^  step \d+: (.*) \| (\d+) pods \(at most (\d+)\), (\d+) ready(?: \(at least (\d+)\))?$`)

// rollout is one rollout's printed steps.
type rollout struct {
	title string
	steps []string // what each step shows of the ReplicaSets
}

// parseReport splits the scenario's report into its rollouts, checking
// each step's counts against the bounds it prints.
func parseReport(t *testing.T, report string, replicas, surge, unavailable int) []rollout {
	t.Helper()
	surge, unavailable = min(surge, replicas), min(unavailable, replicas) // beyond replicas, they act as replicas
	var rollouts []rollout
	for line := range strings.Lines(report) {
		line = strings.TrimSuffix(line, "\n")
		if strings.HasPrefix(line, "create ") || strings.HasPrefix(line, "roll ") {
			rollouts = append(rollouts, rollout{title: line})
			continue
		}
		m := stepLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
		if n(3) != replicas+surge || m[5] != "" && n(5) != replicas-unavailable {
			t.Errorf("step %q prints the wrong bounds", line)
		}
		if n(2) > replicas+surge || m[5] != "" && n(4) < replicas-unavailable {
			t.Errorf("step %q is out of bounds", line)
		}
		r := &rollouts[len(rollouts)-1]
		r.steps = append(r.steps, m[1])
	}
	return rollouts
}

// TestScenario plays the walk-through in a synctest bubble, with Pods
// that take a second to start, for several strategies: each rollout moves
// Pods in steps within the bounds, from all old (the first step may show
// the first new Pods already) to all new, and the
// rollback brings back the first ReplicaSet (created once) rather than a
// new one.
func TestScenario(t *testing.T) {
	first := controller.TemplateHash(rs.PodTemplate{Labels: map[string]string{"app": "web"}, Image: "nginx:1.27"})
	second := controller.TemplateHash(rs.PodTemplate{Labels: map[string]string{"app": "web"}, Image: "nginx:1.28"})
	for _, tc := range []struct{ replicas, surge, unavailable int }{
		{3, 1, 0}, {3, 0, 1}, {5, 2, 1}, {1, 1, 1}, {4, 0, 4},
		{3, math.MaxInt, 0}, {3, 0, math.MaxInt}, // no limit: bounded by replicas, without overflow
	} {
		t.Run(fmt.Sprintf("replicas=%d,maxSurge=%d,maxUnavailable=%d", tc.replicas, tc.surge, tc.unavailable), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var trace bytes.Buffer // read once the system has stopped
				sys := newKitSystem(t, controller.Options{ReadyDelay: time.Second, Trace: rs.NewTracer(rs.SharedOutput(&trace))})
				var out bytes.Buffer
				sc := controller.Scenario{Replicas: tc.replicas, Strategy: controller.RollingUpdate{MaxSurge: tc.surge, MaxUnavailable: tc.unavailable}}
				if err := sc.Run(context.Background(), sys.System, &out); err != nil {
					t.Fatalf("scenario: %v\n%s", err, out.String())
				}
				rollouts := parseReport(t, out.String(), tc.replicas, tc.surge, tc.unavailable)
				if len(rollouts) != 3 {
					t.Fatalf("%d rollouts in the report, want 3:\n%s", len(rollouts), out.String())
				}
				all := func(hash string) string { return fmt.Sprintf("%s: %d pods, %d ready", hash, tc.replicas, tc.replicas) }
				for i, want := range []struct{ from, to string }{
					{"", "new " + all(first)},
					{"old " + all(first) + ", new " + second, "old " + first + ": 0 pods, 0 ready, new " + all(second)},
					{"old " + all(second) + ", new " + first, "old " + second + ": 0 pods, 0 ready, new " + all(first)},
				} {
					r := rollouts[i]
					if len(r.steps) == 0 {
						t.Errorf("%s: no step in the report:\n%s", r.title, out.String())
						continue
					}
					if !strings.HasPrefix(r.steps[0], want.from) || r.steps[len(r.steps)-1] != want.to {
						t.Errorf("%s: from %q to %q, want from %q to %q", r.title, r.steps[0], r.steps[len(r.steps)-1], want.from, want.to)
					}
					// Each step moves at most maxSurge+maxUnavailable Pods
					// from old to new: a rollout of replicas Pods takes
					// at least this many steps.
					if i > 0 && len(r.steps) < 1+tc.replicas/(tc.surge+tc.unavailable) {
						t.Errorf("%s in %d steps, too few for its bounds", r.title, len(r.steps))
					}
				}
				if !strings.Contains(out.String(), fmt.Sprintf("ReplicaSet nsA/web-%s: revision 3, nginx:1.27, spec.replicas %d, status %d/%d ready", first, tc.replicas, tc.replicas, tc.replicas)) {
					t.Errorf("final state:\n%s", out.String())
				}
				if err := sys.w.Steady(); err != nil {
					t.Fatal(err)
				}
				if err := sys.w.Stop(); err != nil {
					t.Fatal(err)
				}
				if n := strings.Count(trace.String(), "create ReplicaSet "); n != 2 {
					t.Errorf("%d ReplicaSets created, want 2 (the rollback reuses the first):\n%s", n, trace.String())
				}
			})
		})
	}
}

// TestScenarioCatchesOutOfBounds: Pods that someone else starts with the
// Deployment's labels count against its surge, and the scenario fails
// with ErrOutOfBounds instead of printing a rollout out of bounds.
func TestScenarioCatchesOutOfBounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := newKitSystem(t, controller.Options{ReadyDelay: time.Second})
		for i := range 2 {
			if _, err := sys.pods.Create(context.Background(), &rs.Pod{
				ObjectMeta: controlloop.ObjectMeta{Namespace: "nsA", Name: fmt.Sprint("stray-", i), Labels: map[string]string{"app": "web"}},
				Phase:      rs.Running,
			}); err != nil {
				t.Fatal(err)
			}
		}
		err := controller.Scenario{}.Run(context.Background(), sys.System, &bytes.Buffer{})
		if !errors.Is(err, controller.ErrOutOfBounds) {
			t.Fatalf("scenario with 2 stray pods = %v, want ErrOutOfBounds", err)
		}
	})
}
