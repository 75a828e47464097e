package clientgo

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/controlloop/controlloop/internal/bench"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// The whole-loop comparison (issue 14): bench.Loop on controlloop's
// embedded stack (memstore, informer, reconcile.Controller) and on
// client-go's sample-controller loop over its fake clientset
// (NewSimpleClientset): a shared Pod
// informer whose handlers add keys to a typed rate-limiting workqueue,
// workers that read the Pod from the lister and write its status with
// UpdateStatus through the fake clientset.

var loopImpls = []struct {
	name string
	new  bench.NewLoopImpl
}{
	{"controlloop", bench.ControlloopLoop},
	{"clientgo", clientgoLoop},
}

// BenchmarkLoop runs the loop with a reconcile that writes each object's
// status once and one that only reads, on 1 and 2 workers, over
// -loop.objects objects (100k by default).
func BenchmarkLoop(b *testing.B) {
	for _, write := range []bool{true, false} {
		for _, workers := range []int{1, 2} {
			for _, impl := range loopImpls {
				kind := "read"
				if write {
					kind = "write"
				}
				b.Run("reconcile="+kind+"/workers="+strconv.Itoa(workers)+"/impl="+impl.name, func(b *testing.B) {
					bench.Loop(b, impl.new, bench.LoopSetup{Objects: bench.LoopObjects(), Workers: workers, Write: write})
				})
			}
		}
	}
}

// TestClientgoLoopSettles runs client-go's loop once on a few objects with
// each reconcile, so that go test checks the benchmark's stack.
func TestClientgoLoopSettles(t *testing.T) {
	for _, write := range []bool{true, false} {
		r := testing.Benchmark(func(b *testing.B) {
			bench.Loop(b, clientgoLoop, bench.LoopSetup{Objects: 1000, Workers: 2, Write: write})
		})
		if r.N == 0 {
			t.Fatalf("write=%v: the loop did not run", write)
		}
	}
}

// clientgoLoop prepares a fake clientset holding setup.Objects Pods, the
// same names and namespaces as bench.Item's, with Status.Phase as Phase.
// The fake's watchers panic once 100 events wait (watch.DefaultChanSize):
// it is raised so that the informer may fall behind the writers, as
// memstore's watch may.
func clientgoLoop(b *testing.B, setup bench.LoopSetup) bench.LoopImpl {
	is := bench.InformerSetup{Objects: setup.Objects}
	objs := make([]runtime.Object, setup.Objects)
	for i := range objs {
		it := is.Item(i, 0)
		objs[i] = &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: it.Namespace, Name: it.Name},
			Status:     corev1.PodStatus{Phase: corev1.PodPhase(it.Phase)},
		}
	}
	watch.DefaultChanSize = int32(2*setup.Objects + 100)
	// NewSimpleClientset is the plain object tracker sample-controller's
	// tests run on. Its replacement, NewClientset, tracks managed fields:
	// about 2700 allocations per object in this loop, 200 objects/s at
	// 5k objects, which would measure that tracker, not the loop.
	l := &clientgoLoopImpl{client: fake.NewSimpleClientset(objs...), setup: setup}
	count := func(n *atomic.Int64) k8stesting.ReactionFunc {
		return func(k8stesting.Action) (bool, runtime.Object, error) {
			n.Add(1)
			return false, nil, nil // counted; the tracker answers
		}
	}
	l.client.PrependReactor("list", "pods", count(&l.lists))
	l.client.PrependWatchReactor("pods", func(k8stesting.Action) (bool, watch.Interface, error) {
		l.watches.Add(1)
		return false, nil, nil
	})
	return l
}

type clientgoLoopImpl struct {
	client         *fake.Clientset
	setup          bench.LoopSetup
	lists, watches atomic.Int64
}

func (l *clientgoLoopImpl) Run(b *testing.B) bench.LoopRun {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	factory := informers.NewSharedInformerFactory(l.client, 0)
	pods := factory.Core().V1().Pods()
	queue := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[cache.ObjectName]())
	enqueue := func(obj any) {
		if name, err := cache.ObjectToName(obj); err == nil {
			queue.Add(name)
		}
	}
	if _, err := pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
	}); err != nil {
		b.Fatal(err)
	}
	lister := pods.Lister()
	done := bench.NewLoopDone(l.setup.Objects)
	var failed atomic.Value
	reconcile := func(name cache.ObjectName) error {
		pod, err := lister.Pods(name.Namespace).Get(name.Name)
		if err != nil {
			return nil // gone: nothing to do
		}
		if !l.setup.Write || pod.Status.Phase == bench.ReconciledPhase {
			done.Mark(pod.Name)
			return nil
		}
		status := pod.DeepCopy() // the lister's object is shared
		status.Status.Phase = bench.ReconciledPhase
		_, err = l.client.CoreV1().Pods(name.Namespace).UpdateStatus(ctx, status, metav1.UpdateOptions{})
		return err
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), pods.Informer().HasSynced) {
		b.Fatal("client-go's informer did not sync")
	}
	var workers sync.WaitGroup
	for range l.setup.Workers {
		workers.Go(func() {
			for {
				name, shutdown := queue.Get()
				if shutdown {
					return
				}
				if err := reconcile(name); err != nil {
					failed.CompareAndSwap(nil, err)
					queue.AddRateLimited(name)
				} else {
					queue.Forget(name)
				}
				queue.Done(name)
			}
		})
	}
	<-done.All()
	queue.ShutDown()
	workers.Wait()
	cancel()
	factory.Shutdown()
	if err, _ := failed.Load().(error); err != nil {
		b.Logf("a reconcile failed and was retried: %v", err)
	}
	return bench.LoopRun{Lists: l.lists.Swap(0), Watches: l.watches.Swap(0)}
}
