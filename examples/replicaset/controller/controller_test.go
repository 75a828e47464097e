package controller_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/examples/replicaset/controller"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/memstore"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type env struct {
	rs   *memstore.Store[*controller.ReplicaSet]
	pods *memstore.Store[*controller.Pod]
	sys  *controller.System
	// stop stops the system and returns Run's error; it may be called
	// more than once. A test that fails before calling it has it called
	// by a cleanup, inside the synctest bubble, so that the failure is
	// reported rather than hidden behind a "blocked goroutines remain"
	// panic.
	stop func() error
}

func start(t *testing.T, opts controller.Options) *env {
	t.Helper()
	rs, err := memstore.New[*controller.ReplicaSet](memstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pods, err := memstore.New[*controller.Pod](memstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	sys, err := controller.New(controller.Backend{ReplicaSets: rs, Pods: pods}, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sys.Run(ctx) }()
	stop := sync.OnceValue(func() error { cancel(); return <-done })
	t.Cleanup(func() { _ = stop() })
	return &env{rs: rs, pods: pods, sys: sys, stop: stop}
}

// checkPods verifies that the store holds exactly want Running Pods of the
// ReplicaSet, owned by it and labelled from its template, and no other Pod
// in its namespace.
func (e *env) checkPods(t *testing.T, key controlloop.Key, want int) {
	t.Helper()
	ctx := context.Background()
	rs, err := e.rs.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	list, err := e.pods.List(ctx, controlloop.ListOptions{Selector: controlloop.Selector{Namespace: key.Namespace}})
	if err != nil {
		t.Fatal(err)
	}
	owned := 0
	for _, p := range list.Items {
		ref, ok := p.ControllerRef()
		if !ok || ref.Name != key.Name {
			continue
		}
		owned++
		if ref.Kind != "ReplicaSet" || ref.UID != rs.UID {
			t.Errorf("pod %s: owner %+v, want ReplicaSet %s uid %s", p.Name, ref, key.Name, rs.UID)
		}
		if !(controlloop.Selector{Labels: rs.Spec.Selector}).MatchesLabels(p.Labels) || p.Image != rs.Spec.Template.Image {
			t.Errorf("pod %s: labels %v image %q, not from the template %+v", p.Name, p.Labels, p.Image, rs.Spec.Template)
		}
		if p.Phase != controller.Running {
			t.Errorf("pod %s is %s", p.Name, p.Phase)
		}
	}
	if owned != want {
		t.Errorf("%d pods owned by %s, want %d", owned, key, want)
	}
}

func TestScenario(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var trace bytes.Buffer
		tracer := controller.NewTracer(&trace)
		e := start(t, controller.Options{Trace: tracer})
		var out bytes.Buffer
		sc := controller.Scenario{Trace: tracer}
		if err := sc.Run(context.Background(), e.sys, &out); err != nil {
			t.Fatalf("scenario: %v\n%s", err, trace.String())
		}
		key := controlloop.Key{Namespace: "nsA", Name: "rsA"}
		e.checkPods(t, key, 1)
		if err := e.stop(); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{
			"step 1: converged", "step 2: converged", "step 3: converged", "step 4: converged",
			"create 2", "create 1", "delete rsA-1, rsA-2", "node agent: started pod nsA/rsA-0",
		} {
			if !strings.Contains(trace.String(), want) {
				t.Errorf("trace lacks %q:\n%s", want, trace.String())
			}
		}
		if !strings.Contains(out.String(), "status 1/1 ready") {
			t.Errorf("final state:\n%s", out.String())
		}
	})
}

// TestScenarioUnderFaults breaks every watch and expires the stores'
// history every few milliseconds (200 times) while the scenario runs:
// relists and re-watches must still bring every step to convergence, and
// bring the caches back to the stores' state once the faults stop.
//
// All 200 faults are injected whatever the scenario does: when they
// stopped with the scenario, a scenario that converged between two ticks
// (seen on a loaded machine) left "only 1 faults were injected", and that
// t.Fatalf, with the system still running, surfaced as a synctest
// deadlock of the memstore watchers.
func TestScenarioUnderFaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var trace syncBuffer
		e := start(t, controller.Options{Trace: controller.NewTracer(&trace)})
		faultsDone := make(chan struct{})
		go func() {
			defer close(faultsDone)
			tick := time.NewTicker(3 * time.Millisecond)
			defer tick.Stop()
			for faults := 1; faults <= 200; faults++ {
				<-tick.C
				if faults%2 == 0 {
					e.rs.ExpireHistory()
					e.pods.ExpireHistory()
				}
				e.rs.BreakWatches()
				e.pods.BreakWatches()
			}
		}()
		sc := controller.Scenario{Timeout: 5 * time.Minute}
		err := sc.Run(context.Background(), e.sys, io.Discard)
		<-faultsDone
		if err != nil {
			lines := strings.Split(trace.String(), "\n")
			t.Logf("trace tail:\n%s", strings.Join(lines[max(0, len(lines)-40):], "\n"))
			dumpState(t, e)
			t.Fatalf("scenario under faults: %v", err)
		}
		e.checkPods(t, controlloop.Key{Namespace: "nsA", Name: "rsA"}, 1)
		// Faults that came after the last step must not leave the caches
		// stale: within the reflectors' longest backoff, they catch up.
		for deadline := time.Now().Add(5 * time.Minute); !cachesMatchStores(e); time.Sleep(time.Second) {
			if time.Now().After(deadline) {
				dumpState(t, e)
				t.Fatal("the caches did not catch up with the stores after the faults stopped")
			}
		}
		if err := e.stop(); err != nil {
			t.Fatal(err)
		}
	})
}

// cachesMatchStores reports whether the caches hold exactly the stores'
// objects, at the stores' versions.
func cachesMatchStores(e *env) bool {
	return cacheMatches(e.rs, e.sys.RSReader) && cacheMatches(e.pods, e.sys.PodReader)
}

func cacheMatches[T controlloop.Object](store *memstore.Store[T], cache informer.Reader[T]) bool {
	if store.Len() != cache.Len() {
		return false
	}
	for k, obj := range store.All() {
		cached, err := cache.Get(k)
		if err != nil || cached.GetResourceVersion() != obj.GetResourceVersion() {
			return false
		}
	}
	return true
}

// TestInvalidReplicaSetReportedNotHot writes an invalid ReplicaSet around
// admission: the controller reports it in the status, once, and does not
// keep reconciling it.
func TestInvalidReplicaSetReportedNotHot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var reconciles atomic.Int32
		tracer := controller.NewTracer(countWriter{&reconciles})
		e := start(t, controller.Options{Trace: tracer})
		ctx := context.Background()
		neg := -1
		_, err := e.sys.ReplicaSets.Create(ctx, &controller.ReplicaSet{
			ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: "bad"},
			Spec:       controller.ReplicaSetSpec{Replicas: &neg, Selector: map[string]string{"a": "b"}, Template: controller.PodTemplate{Labels: map[string]string{"a": "b"}}},
		})
		if !errors.Is(err, controlloop.ErrInvalid) {
			t.Fatalf("admitted Create of negative replicas = %v, want ErrInvalid", err)
		}
		// Around admission, straight into the store:
		if _, err := e.rs.Create(ctx, &controller.ReplicaSet{
			ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: "bad"},
			Spec:       controller.ReplicaSetSpec{Replicas: &neg, Selector: map[string]string{"a": "b"}, Template: controller.PodTemplate{Labels: map[string]string{"x": "y"}}},
		}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		rs, err := e.rs.Get(ctx, controlloop.Key{Namespace: "ns", Name: "bad"})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(rs.Status.Invalid, "must not be negative") || !strings.Contains(rs.Status.Invalid, "does not match") {
			t.Errorf("status.invalid = %q, want both problems reported", rs.Status.Invalid)
		}
		if n := reconciles.Load(); n > 3 {
			t.Errorf("%d reconciles of an invalid ReplicaSet in a minute: it loops", n)
		}
		if e.pods.Len() != 0 {
			t.Errorf("%d pods created for an invalid ReplicaSet", e.pods.Len())
		}
		if err := e.stop(); err != nil {
			t.Fatal(err)
		}
	})
}

// countWriter counts trace lines that report a reconcile.
type countWriter struct{ n *atomic.Int32 }

func (w countWriter) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("reconcile ReplicaSet")) {
		w.n.Add(1)
	}
	return len(p), nil
}

func TestAdmissionDefaultsReplicas(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := start(t, controller.Options{})
		labels := map[string]string{"app": "x"}
		rs, err := e.sys.ReplicaSets.Create(context.Background(), &controller.ReplicaSet{
			ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: "x"},
			Spec:       controller.ReplicaSetSpec{Selector: labels, Template: controller.PodTemplate{Labels: labels}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if rs.Spec.Replicas == nil || *rs.Spec.Replicas != 1 {
			t.Fatalf("replicas = %v, want the default 1", rs.Spec.Replicas)
		}
		time.Sleep(time.Second)
		e.checkPods(t, controlloop.Key{Namespace: "ns", Name: "x"}, 1)
		for _, spec := range []controller.ReplicaSetSpec{
			{Template: controller.PodTemplate{Labels: labels}},                                        // empty selector
			{Selector: labels, Template: controller.PodTemplate{Labels: map[string]string{"a": "b"}}}, // selector misses template
		} {
			_, err := e.sys.ReplicaSets.Create(context.Background(), &controller.ReplicaSet{ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: "y"}, Spec: spec})
			if !errors.Is(err, controlloop.ErrInvalid) {
				t.Errorf("Create of %+v = %v, want ErrInvalid", spec, err)
			}
		}
		if err := e.stop(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestManyReplicaSets creates 200 ReplicaSets of 5 replicas each, in real
// time, and reports how long they take to converge.
func TestManyReplicaSets(t *testing.T) {
	const sets, replicas = 200, 5
	e := start(t, controller.Options{Workers: 4})
	defer func() {
		if err := e.stop(); err != nil {
			t.Error(err)
		}
	}()
	ctx := context.Background()
	begin := time.Now()
	for i := range sets {
		labels := map[string]string{"app": fmt.Sprint("rs", i)}
		n := replicas
		if _, err := e.sys.ReplicaSets.Create(ctx, &controller.ReplicaSet{
			ObjectMeta: controlloop.ObjectMeta{Namespace: fmt.Sprint("ns", i%10), Name: fmt.Sprint("rs", i)},
			Spec:       controller.ReplicaSetSpec{Replicas: &n, Selector: labels, Template: controller.PodTemplate{Labels: labels}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		done := 0
		for _, rs := range e.sys.RSReader.List(controlloop.Selector{}) {
			if rs.Converged() {
				done++
			}
		}
		if done == sets {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d ReplicaSets converged in 2 minutes", done, sets)
		}
		time.Sleep(5 * time.Millisecond) // a poll of real progress, bounded by the deadline
	}
	elapsed := time.Since(begin)
	if n := e.pods.Len(); n != sets*replicas {
		t.Fatalf("%d pods, want %d", n, sets*replicas)
	}
	t.Logf("%d ReplicaSets x %d pods converged in %v (%.0f pods/s)", sets, replicas, elapsed, float64(sets*replicas)/elapsed.Seconds())
}

// dumpState logs the stores and the caches side by side, to tell a stuck
// cache from a stuck controller.
func dumpState(t *testing.T, e *env) {
	t.Helper()
	for k, rs := range e.rs.All() {
		cached, err := e.sys.RSReader.Get(k)
		t.Logf("store rs %s rv %s gen %d status %+v | cache %v %v", k, rs.ResourceVersion, rs.Generation, rs.Status, describeRS(cached), err)
	}
	for k, p := range e.pods.All() {
		cached, err := e.sys.PodReader.Get(k)
		cachedRV := ""
		if err == nil {
			cachedRV = cached.ResourceVersion + " " + cached.Phase
		}
		t.Logf("store pod %s rv %s %s uid %s | cache %s %v", k, p.ResourceVersion, p.Phase, p.UID, cachedRV, err)
	}
	for _, p := range e.sys.PodReader.List(controlloop.Selector{}) {
		if _, err := e.pods.Get(context.Background(), controlloop.KeyOf(p)); err != nil {
			t.Logf("cache-only pod %s rv %s", controlloop.KeyOf(p), p.ResourceVersion)
		}
	}
	t.Logf("store versions: rs %s pods %s", e.rs.ResourceVersion(), e.pods.ResourceVersion())
}

func describeRS(rs *controller.ReplicaSet) string {
	if rs == nil {
		return "none"
	}
	return fmt.Sprintf("rv %s gen %d status %+v", rs.ResourceVersion, rs.Generation, rs.Status)
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestReadyDelay: with Options.ReadyDelay, the node agent starts each Pod
// that long after its creation, not before.
func TestReadyDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := start(t, controller.Options{ReadyDelay: time.Second})
		labels := map[string]string{"app": "x"}
		two := 2
		if _, err := e.sys.ReplicaSets.Create(context.Background(), &controller.ReplicaSet{
			ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: "x"},
			Spec:       controller.ReplicaSetSpec{Replicas: &two, Selector: labels, Template: controller.PodTemplate{Labels: labels}},
		}); err != nil {
			t.Fatal(err)
		}
		phases := func() map[string]int {
			n := map[string]int{}
			for _, p := range e.pods.All() {
				n[p.Phase]++
			}
			return n
		}
		time.Sleep(100 * time.Millisecond) // the controllers start, and create the Pods
		synctest.Wait()
		var created time.Time
		for _, p := range e.pods.All() {
			created = p.Created
		}
		if created.IsZero() {
			t.Fatal("no pod created")
		}
		time.Sleep(time.Until(created.Add(999 * time.Millisecond)))
		synctest.Wait()
		if got := phases(); got[controller.Pending] != 2 {
			t.Fatalf("just before the delay: %v, want 2 pending", got)
		}
		time.Sleep(2 * time.Millisecond)
		synctest.Wait()
		if got := phases(); got[controller.Running] != 2 {
			t.Fatalf("just after the delay: %v, want 2 running", got)
		}
		e.checkPods(t, controlloop.Key{Namespace: "ns", Name: "x"}, 2)
		if err := e.stop(); err != nil {
			t.Fatal(err)
		}
	})
}
