package controller_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/examples/replicaset/controller"
	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/reconcile/reconciletest"
	"pgregory.net/rapid"
)

// TestReplicaSetProperty is the example's promise, on the test kit: under
// random faults of both stores (broken, failing and delayed watches,
// expired and compacted history, failing lists, outages, write conflicts,
// write errors and lost replies, duplicated events) and leadership
// changes, while users create, scale and delete ReplicaSets and delete
// Pods:
//
//   - Always, after every write and every step: no ReplicaSet has a Pod
//     beyond the most replicas it was ever asked for (Pods are named by
//     index, so a Pod rs-i exists only if i was once wanted);
//   - whenever the system is steady, and at the end: every ReplicaSet
//     has exactly its replicas, Running, from its template and owned by
//     it, its status says so, no Pod outlives its ReplicaSet, and the
//     caches hold exactly the stores' objects.
//
// Run more schedules with -rapid.checks, for example:
//
//	go test -run '^TestReplicaSetProperty$' -rapid.checks=1000 ./examples/replicaset/controller/
func TestReplicaSetProperty(t *testing.T) {
	reconciletest.Check(t, reconciletest.Property[*rsWorld]{
		Setup: func(t *rapid.T, w *reconciletest.World) *rsWorld {
			// Small histories make expiry likelier.
			e, err := build(w, memstore.Options{HistorySize: 8}, controller.Options{
				Workers:       rapid.IntRange(1, 2).Draw(t, "workers"),
				LeaderElector: w.Elector("replica-0"),
			})
			if err != nil {
				t.Fatal(err)
			}
			return &rsWorld{env: e, most: map[string]int{}}
		},
		Actions: map[string]func(*rapid.T, *rsWorld){
			"create":    createRS,
			"scale":     scaleRS,
			"delete":    deleteRS,
			"deletePod": deletePod,
		},
		Always:    (*rsWorld).neverBeyondAsked,
		Invariant: (*rsWorld).converged,
		Faults:    reconciletest.AllFaults, // Pod names are deterministic: a lost create is retried into ErrAlreadyExists
	})
}

// rsWorld is one schedule's system, and what users asked of it.
type rsWorld struct {
	*env
	// names are those of the ReplicaSets created so far. A create may
	// reuse the name of a deleted one (TestRecreatedReplicaSetGetsItsOwnPods).
	names []string

	mu   sync.Mutex     // protects most
	most map[string]int // per ReplicaSet name: the most replicas ever asked for
}

// pick draws the name of a ReplicaSet created so far.
func (s *rsWorld) pick(t *rapid.T) string {
	if len(s.names) == 0 {
		t.Skip("no ReplicaSet yet")
	}
	return rapid.SampledFrom(s.names).Draw(t, "name")
}

// ask records that name may have up to replicas Pods.
func (s *rsWorld) ask(name string, replicas int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.most[name] = max(s.most[name], replicas)
}

func createRS(t *rapid.T, s *rsWorld) {
	name := "rs" + strconv.Itoa(len(s.names))
	if len(s.names) > 0 && rapid.Bool().Draw(t, "reuse a name") {
		name = rapid.SampledFrom(s.names).Draw(t, "reused")
	} else {
		s.names = append(s.names, name)
	}
	n := rapid.IntRange(0, 3).Draw(t, "replicas")
	labels := map[string]string{"app": name}
	s.ask(name, n)
	_, _ = s.rs.Create(context.Background(), &controller.ReplicaSet{
		ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: name},
		Spec:       controller.ReplicaSetSpec{Replicas: &n, Selector: labels, Template: controller.PodTemplate{Labels: labels, Image: "nginx:" + name}},
	})
}

func scaleRS(t *rapid.T, s *rsWorld) {
	ctx := context.Background()
	rs, err := s.rs.Get(ctx, controlloop.Key{Namespace: "ns", Name: s.pick(t)})
	if err != nil {
		t.Skip("no such ReplicaSet")
	}
	n := rapid.IntRange(0, 3).Draw(t, "replicas")
	s.ask(rs.Name, n)
	rs = rs.DeepCopy()
	rs.Spec.Replicas = &n
	_, _ = s.rs.Update(ctx, rs)
}

func deleteRS(t *rapid.T, s *rsWorld) {
	_ = s.rs.Delete(context.Background(), controlloop.Key{Namespace: "ns", Name: s.pick(t)}, controlloop.DeleteOptions{})
}

func deletePod(t *rapid.T, s *rsWorld) {
	keys := slices.SortedFunc(maps.Keys(maps.Collect(s.pods.All())), func(a, b controlloop.Key) int { return strings.Compare(a.Name, b.Name) })
	if len(keys) == 0 {
		t.Skip("no Pod")
	}
	_ = s.pods.Delete(context.Background(), rapid.SampledFrom(keys).Draw(t, "pod"), controlloop.DeleteOptions{})
}

// neverBeyondAsked: every Pod's index is below the most replicas its
// ReplicaSet was asked for.
func (s *rsWorld) neverBeyondAsked() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, p := range s.pods.All() {
		ref, _ := p.ControllerRef()
		i, err := strconv.Atoi(strings.TrimPrefix(p.Name, ref.Name+"-"))
		if err != nil || i >= s.most[ref.Name] {
			return fmt.Errorf("pod %s exists; %s was asked for at most %d replicas", k, ref.Name, s.most[ref.Name])
		}
	}
	return nil
}

// converged: every ReplicaSet has exactly its Pods, Running, and says so;
// no Pod is left of a deleted one; the caches match the stores.
func (s *rsWorld) converged() error {
	var errs []error
	pods := controlloop.Collect(s.pods.All())
	live := map[string]bool{} // by UID: a name may have been reused
	for _, rs := range s.rs.All() {
		live[rs.UID] = true
		errs = append(errs, podsOf(rs, pods, *rs.Spec.Replicas))
		if !rs.Converged() {
			errs = append(errs, fmt.Errorf("ReplicaSet %s: status %+v at generation %d, not converged", rs.Name, rs.Status, rs.Generation))
		}
	}
	for _, p := range pods {
		if ref, _ := p.ControllerRef(); !live[ref.UID] {
			errs = append(errs, fmt.Errorf("pod %s outlived its ReplicaSet %s (uid %s)", p.Name, ref.Name, ref.UID))
		}
	}
	if !cachesMatchStores(s.env) {
		errs = append(errs, errors.New("the caches do not hold the stores' objects"))
	}
	return errors.Join(errs...)
}
