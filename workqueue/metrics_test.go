package workqueue_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/controlloop/controlloop/workqueue"
)

// recorder is a MetricsProvider that writes down every call.
type recorder struct {
	mu       sync.Mutex // protects calls
	calls    []string
	name     string
	inFlight func() workqueue.InFlight
}

func (r *recorder) ForQueue(name string, inFlight func() workqueue.InFlight) workqueue.QueueMetrics {
	r.name, r.inFlight = name, inFlight
	return r
}

func (r *recorder) record(call string) {
	r.mu.Lock()
	r.calls = append(r.calls, call)
	r.mu.Unlock()
}

func (r *recorder) Added()                       { r.record("added") }
func (r *recorder) Started(queued time.Duration) { r.record("started after " + queued.String()) }
func (r *recorder) Finished(worked time.Duration) {
	r.record("finished after " + worked.String())
}
func (r *recorder) Retried() { r.record("retried") }

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	calls := r.calls
	r.calls = nil
	return calls
}

// TestMetrics checks the calls a queue makes to its QueueMetrics: an add
// that deduplication absorbs is not counted, a delayed or rate-limited add
// is a retry, queue and work durations are measured from the right
// instants, and InFlight reports the oldest item's age and the total.
func TestMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &recorder{}
		q := must(workqueue.New(workqueue.Options[string]{Name: "pods", Metrics: r}))
		if r.name != "pods" {
			t.Fatalf("ForQueue got name %q, want pods", r.name)
		}
		ctx := context.Background()
		q.Add("a")
		q.Add("a") // merged: no call
		q.AddWithOptions("b", workqueue.AddOptions{Priority: -1})
		time.Sleep(2 * time.Second)
		a, _ := q.Get(ctx)
		time.Sleep(time.Second)
		b, _ := q.Get(ctx)
		time.Sleep(time.Second)
		if got, want := r.inFlight(), (workqueue.InFlight{Longest: 2 * time.Second, Unfinished: 3 * time.Second}); got != want {
			t.Errorf("InFlight = %+v, want %+v (a for 2s, b for 1s)", got, want)
		}
		q.Done(b)
		time.Sleep(time.Second)
		q.Done(a)
		if got := r.inFlight(); got != (workqueue.InFlight{}) {
			t.Errorf("InFlight with nothing in flight = %+v", got)
		}
		q.AddAfter("c", time.Second)
		q.AddRateLimited("d")
		want := []string{
			"added", "added",
			"started after 2s", "started after 3s",
			"finished after 1s", "finished after 3s",
			"retried", "retried",
		}
		if diff := cmp.Diff(want, r.take()); diff != "" {
			t.Errorf("metrics calls (-want +got):\n%s", diff)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if diff := cmp.Diff([]string{"added", "added"}, r.take()); diff != "" {
			t.Errorf("calls when the delayed items became ready (-want +got):\n%s", diff)
		}
		q.ShutDown()
	})
}

// TestDuplicateAddTouchesNoMetrics: an add that deduplication absorbs makes
// no metrics call, whatever state the item is in (issue 14: the hot-key
// path costs one lookup).
func TestDuplicateAddTouchesNoMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &recorder{}
		q := must(workqueue.New(workqueue.Options[string]{Metrics: r}))
		q.Add("processing")
		if got, _ := q.Get(context.Background()); got != "processing" {
			t.Fatalf("Get = %q, want processing", got)
		}
		q.Add("ready")
		r.take()
		for range 3 {
			for _, item := range []string{"ready", "processing"} {
				q.Add(item)
				q.AddWithOptions(item, workqueue.AddOptions{Priority: -1})
			}
		}
		if calls := r.take(); len(calls) != 0 {
			t.Errorf("duplicate adds made metrics calls %q", calls)
		}
		q.ShutDown()
	})
}

// TestQueueDurationCountsFromAdd: the queue duration an item reports is
// the time from the add that made it ready to the Get, also when the queue
// has run for a while (its clock is read at the add, not at the epoch).
func TestQueueDurationCountsFromAdd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &recorder{}
		q := must(workqueue.New(workqueue.Options[string]{Metrics: r}))
		time.Sleep(5 * time.Second)
		q.Add("a")
		q.AddAfter("b", time.Hour)
		q.Add("b")
		time.Sleep(2 * time.Second)
		q.Get(context.Background())
		q.Get(context.Background())
		want := []string{"added", "retried", "added", "started after 2s", "started after 2s"}
		if diff := cmp.Diff(want, r.take()); diff != "" {
			t.Errorf("metrics calls (-want +got):\n%s", diff)
		}
		q.ShutDown()
	})
}
