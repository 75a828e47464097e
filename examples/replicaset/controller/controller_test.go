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
	"github.com/controlloop/controlloop/reconcile"
	"github.com/controlloop/controlloop/reconcile/reconciletest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// env is the example's system in a test World (package reconciletest):
// both stores are the World's, the system reads and writes them through
// the stores' Clients, and its Manager runs until the test ends.
type env struct {
	w    *reconciletest.World
	rs   *reconciletest.Store[*controller.ReplicaSet]
	pods *reconciletest.Store[*controller.Pod]
	sys  *controller.System
}

// start builds the system with opts in a new World of t, which must run
// in a synctest bubble, and starts it.
func start(t *testing.T, storeOpts memstore.Options, opts controller.Options) *env {
	t.Helper()
	e, err := build(reconciletest.New(t, reconciletest.Options{}), storeOpts, opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// build builds the system with opts in w, over two new stores, and
// starts it. Its logs and reconciles go to the World's trace unless opts
// says otherwise.
func build(w *reconciletest.World, storeOpts memstore.Options, opts controller.Options) (*env, error) {
	e := &env{
		w:    w,
		rs:   reconciletest.NewStore[*controller.ReplicaSet](w, "replicasets", storeOpts),
		pods: reconciletest.NewStore[*controller.Pod](w, "pods", storeOpts),
	}
	if opts.Logger == nil {
		opts.Logger = w.Logger()
	}
	if opts.Tracer == nil {
		opts.Tracer = w.Tracer()
	}
	m := &reconcile.Manager{LeaderElector: opts.LeaderElector}
	opts.Manager = m
	sys, err := controller.New(controller.Backend{ReplicaSets: e.rs.Client(), Pods: e.pods.Client()}, opts)
	if err != nil {
		return nil, err
	}
	e.sys = sys
	w.Start(m)
	return e, nil
}

// steady waits until the system is steady, failing the test with the
// World's trace if it does not get there.
func (e *env) steady(t *testing.T) {
	t.Helper()
	if err := e.w.Steady(); err != nil {
		t.Fatalf("%v\ntrace:\n%s", err, e.w.Trace())
	}
}

// podsOf checks that the store holds exactly want Running Pods of the
// ReplicaSet, owned by it and labelled from its template, and no other
// Pod in its namespace owned by it.
func podsOf(rs *controller.ReplicaSet, pods []*controller.Pod, want int) error {
	var errs []error
	owned := 0
	for _, p := range pods {
		ref, ok := p.ControllerRef()
		if !ok || ref.Name != rs.Name || p.Namespace != rs.Namespace {
			continue
		}
		owned++
		if ref.Kind != "ReplicaSet" || ref.UID != rs.UID {
			errs = append(errs, fmt.Errorf("pod %s: owner %+v, want ReplicaSet %s uid %s", p.Name, ref, rs.Name, rs.UID))
		}
		if !(controlloop.Selector{Labels: rs.Spec.Selector}).MatchesLabels(p.Labels) || p.Image != rs.Spec.Template.Image {
			errs = append(errs, fmt.Errorf("pod %s: labels %v image %q, not from the template %+v", p.Name, p.Labels, p.Image, rs.Spec.Template))
		}
		if p.Phase != controller.Running {
			errs = append(errs, fmt.Errorf("pod %s is %s", p.Name, p.Phase))
		}
	}
	if owned != want {
		errs = append(errs, fmt.Errorf("%d pods owned by %s/%s, want %d", owned, rs.Namespace, rs.Name, want))
	}
	return errors.Join(errs...)
}

func (e *env) checkPods(t *testing.T, key controlloop.Key, want int) {
	t.Helper()
	rs, err := e.rs.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if err := podsOf(rs, controlloop.Collect(e.pods.All()), want); err != nil {
		t.Error(err)
	}
}

func TestScenario(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var trace syncBuffer
		tracer := controller.NewTracer(&trace)
		e := start(t, memstore.Options{}, controller.Options{Trace: tracer})
		var out bytes.Buffer
		sc := controller.Scenario{Trace: tracer}
		if err := sc.Run(context.Background(), e.sys, &out); err != nil {
			t.Fatalf("scenario: %v\n%s", err, trace.String())
		}
		e.steady(t)
		key := controlloop.Key{Namespace: "nsA", Name: "rsA"}
		e.checkPods(t, key, 1)
		if err := e.w.Stop(); err != nil {
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
// the caches back to the stores' state once the faults stop (the World
// gets steady: every cache has applied its store's version).
//
// All 200 faults are injected whatever the scenario does: when they
// stopped with the scenario, a scenario that converged between two ticks
// left "only 1 faults were injected".
func TestScenarioUnderFaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := start(t, memstore.Options{}, controller.Options{})
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
			t.Fatalf("scenario under faults: %v\ntrace:\n%s", err, e.w.Trace())
		}
		e.steady(t)
		e.checkPods(t, controlloop.Key{Namespace: "nsA", Name: "rsA"}, 1)
		if !cachesMatchStores(e) {
			t.Fatalf("steady, but the caches do not hold the stores' objects\ntrace:\n%s", e.w.Trace())
		}
	})
}

// cachesMatchStores reports whether the caches hold exactly the stores'
// objects, at the stores' versions.
func cachesMatchStores(e *env) bool {
	return cacheMatches(e.rs.Store, e.sys.RSReader) && cacheMatches(e.pods.Store, e.sys.PodReader)
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
// keep reconciling it: the system gets steady.
func TestInvalidReplicaSetReportedNotHot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var reconciles atomic.Int32
		tracer := controller.NewTracer(countWriter{&reconciles})
		e := start(t, memstore.Options{}, controller.Options{Trace: tracer})
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
		e.steady(t)
		rs, err := e.rs.Get(ctx, controlloop.Key{Namespace: "ns", Name: "bad"})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(rs.Status.Invalid, "must not be negative") || !strings.Contains(rs.Status.Invalid, "does not match") {
			t.Errorf("status.invalid = %q, want both problems reported", rs.Status.Invalid)
		}
		if n := reconciles.Load(); n > 3 {
			t.Errorf("%d reconciles of an invalid ReplicaSet: it loops", n)
		}
		if e.pods.Len() != 0 {
			t.Errorf("%d pods created for an invalid ReplicaSet", e.pods.Len())
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
		e := start(t, memstore.Options{}, controller.Options{})
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
		e.steady(t)
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
	})
}

// TestManyReplicaSets creates 200 ReplicaSets of 5 replicas each, in real
// time (outside any World), and reports how long they take to converge.
func TestManyReplicaSets(t *testing.T) {
	const sets, replicas = 200, 5
	rsStore, err := memstore.New[*controller.ReplicaSet](memstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	podStore, err := memstore.New[*controller.Pod](memstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sys, err := controller.New(controller.Backend{ReplicaSets: rsStore, Pods: podStore}, controller.Options{Workers: 4, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sys.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	begin := time.Now()
	for i := range sets {
		labels := map[string]string{"app": fmt.Sprint("rs", i)}
		n := replicas
		if _, err := sys.ReplicaSets.Create(ctx, &controller.ReplicaSet{
			ObjectMeta: controlloop.ObjectMeta{Namespace: fmt.Sprint("ns", i%10), Name: fmt.Sprint("rs", i)},
			Spec:       controller.ReplicaSetSpec{Replicas: &n, Selector: labels, Template: controller.PodTemplate{Labels: labels}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		done := 0
		for _, rs := range sys.RSReader.List(controlloop.Selector{}) {
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
	if n := podStore.Len(); n != sets*replicas {
		t.Fatalf("%d pods, want %d", n, sets*replicas)
	}
	t.Logf("%d ReplicaSets x %d pods converged in %v (%.0f pods/s)", sets, replicas, elapsed, float64(sets*replicas)/elapsed.Seconds())
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
		e := start(t, memstore.Options{}, controller.Options{ReadyDelay: time.Second})
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
	})
}

// TestRecreatedReplicaSetGetsItsOwnPods is a bug the test kit's property
// found: a ReplicaSet deleted and created again under the same name
// before the controller had seen the delete took over the Pods of the one
// deleted (the controller found Pods by their owner's name, not its UID),
// so they outlived their owner. Now those Pods go and the new ReplicaSet
// gets Pods of its own.
func TestRecreatedReplicaSetGetsItsOwnPods(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := start(t, memstore.Options{}, controller.Options{})
		ctx := context.Background()
		one := 1
		labels := map[string]string{"app": "b"}
		rs := &controller.ReplicaSet{
			ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: "b"},
			Spec:       controller.ReplicaSetSpec{Replicas: &one, Selector: labels, Template: controller.PodTemplate{Labels: labels}},
		}
		if _, err := e.rs.Create(ctx, rs); err != nil {
			t.Fatal(err)
		}
		e.steady(t)
		e.rs.DelayEvents(time.Second) // the controller sees the delete and the create together
		if err := e.rs.Delete(ctx, controlloop.KeyOf(rs), controlloop.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.rs.Create(ctx, rs); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		e.steady(t)
		e.checkPods(t, controlloop.KeyOf(rs), 1)
	})
}
