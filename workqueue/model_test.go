package workqueue_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop/workqueue"
	"pgregory.net/rapid"
)

// The model: what the queue should know of each item, with time in
// nanoseconds since the start of the bubble.
type modelItem struct {
	state    string // "ready", "waiting" or "processing"
	priority int
	ticket   int   // ready: arrival order within a level; waiting: tie-break
	at       int64 // waiting: due time
	dirty    bool  // processing: added again
	dirtyAt  int64 // processing and dirty: when the re-add is due (<= now: at once)
}

type queueModel struct {
	items    map[int]*modelItem
	failures map[int]int
	now      int64
	ticket   int
	shutDown bool
}

func (m *queueModel) nextTicket() int { m.ticket++; return m.ticket }

func (m *queueModel) add(item, priority int, delay int64) {
	if m.shutDown {
		return
	}
	it := m.items[item]
	switch {
	case it == nil && delay <= 0:
		m.items[item] = &modelItem{state: "ready", priority: priority, ticket: m.nextTicket()}
	case it == nil:
		m.items[item] = &modelItem{state: "waiting", priority: priority, ticket: m.nextTicket(), at: sum(m.now, delay)}
	case it.state == "ready":
		if priority > it.priority {
			it.priority, it.ticket = priority, m.nextTicket()
		}
	case it.state == "waiting":
		it.priority = max(it.priority, priority)
		if delay <= 0 {
			it.state, it.ticket = "ready", m.nextTicket()
		} else {
			it.at = min(it.at, sum(m.now, delay))
		}
	case it.state == "processing":
		at := sum(m.now, max(delay, 0))
		if !it.dirty {
			it.dirty, it.priority, it.dirtyAt = true, priority, at
		} else {
			it.priority, it.dirtyAt = max(it.priority, priority), min(it.dirtyAt, at)
		}
	}
}

// sum is now+delay, saturated at the end of the clock: an add delayed
// beyond it never becomes ready.
func sum(now, delay int64) int64 {
	if delay > math.MaxInt64-now {
		return math.MaxInt64
	}
	return now + delay
}

// advance moves time on, making due items ready in due-time order.
func (m *queueModel) advance(d int64) {
	end := m.now + d
	for {
		var next *modelItem
		for _, it := range m.items {
			if it.state == "waiting" && it.at <= end &&
				(next == nil || it.at < next.at || it.at == next.at && it.ticket < next.ticket) {
				next = it
			}
		}
		if next == nil {
			break
		}
		m.now = next.at
		next.state, next.ticket = "ready", m.nextTicket()
	}
	m.now = end
}

// head returns the item Get must hand out, or -1.
func (m *queueModel) head() int {
	best := -1
	for item, it := range m.items {
		if it.state != "ready" {
			continue
		}
		if b := m.items[best]; best < 0 || it.priority > b.priority || it.priority == b.priority && it.ticket < b.ticket {
			best = item
		}
	}
	return best
}

func (m *queueModel) ready() int {
	n := 0
	for _, it := range m.items {
		if it.state == "ready" {
			n++
		}
	}
	return n
}

func TestQueueModel(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		rapid.SyncTest(rt, func(rt *rapid.T) {
			checkQueueModel(rt)
		})
	})
}

func checkQueueModel(t *rapid.T) {
	start := time.Now()
	q := must(workqueue.New(workqueue.Options[int]{
		RateLimiter: must(workqueue.NewItemExponential[int](time.Second, 8*time.Second)),
	}))
	m := &queueModel{items: map[int]*modelItem{}, failures: map[int]int{}}
	item := rapid.IntRange(0, 5)
	priority := rapid.IntRange(-1, 2)
	// Delays of a few seconds, which sleeps reach, and from the whole
	// int64 range, whose sums with the clock must saturate, not wrap.
	delay := rapid.OneOf(
		rapid.Map(rapid.Int64Range(-1, 4), func(s int64) int64 { return s * int64(time.Second) }),
		rapid.Int64(),
		rapid.Int64Range(math.MaxInt64-int64(time.Hour), math.MaxInt64),
	)
	ctx := context.Background()

	t.Repeat(map[string]func(*rapid.T){
		"Add": func(t *rapid.T) {
			i, p := item.Draw(t, "item"), priority.Draw(t, "priority")
			q.AddWithOptions(i, workqueue.AddOptions{Priority: p})
			m.add(i, p, 0)
		},
		"AddAfter": func(t *rapid.T) {
			i, p, d := item.Draw(t, "item"), priority.Draw(t, "priority"), delay.Draw(t, "delay")
			q.AddWithOptions(i, workqueue.AddOptions{After: time.Duration(d), Priority: p})
			m.add(i, p, d)
		},
		"AddRateLimited": func(t *rapid.T) {
			i := item.Draw(t, "item")
			q.AddRateLimited(i)
			n := m.failures[i]
			m.failures[i] = n + 1
			m.add(i, 0, min(int64(1)<<min(n, 10), 8)*int64(time.Second))
		},
		"Forget": func(t *rapid.T) {
			i := item.Draw(t, "item")
			q.Forget(i)
			delete(m.failures, i)
		},
		"Get": func(t *rapid.T) {
			want := m.head()
			if want < 0 {
				if !m.shutDown {
					t.Skip("nothing ready: Get would block")
				}
				if _, err := q.Get(ctx); !errors.Is(err, workqueue.ErrShutDown) {
					t.Fatalf("Get on a drained shut-down queue = %v", err)
				}
				return
			}
			got, err := q.Get(ctx)
			if err != nil || got != want {
				t.Fatalf("Get = %d, %v; want %d", got, err, want)
			}
			it := m.items[want]
			it.state, it.dirty = "processing", false
		},
		"Done": func(t *rapid.T) {
			i := item.Draw(t, "item")
			q.Done(i)
			it := m.items[i]
			if it == nil || it.state != "processing" {
				return // a no-op
			}
			switch {
			case !it.dirty:
				delete(m.items, i)
			case it.dirtyAt <= m.now:
				it.state, it.ticket = "ready", m.nextTicket()
			case m.shutDown:
				delete(m.items, i)
			default:
				it.state, it.at, it.ticket = "waiting", it.dirtyAt, m.nextTicket()
			}
		},
		"Sleep": func(t *rapid.T) {
			d := rapid.Int64Range(1, 5).Draw(t, "seconds")
			time.Sleep(time.Duration(d) * time.Second)
			synctest.Wait()
			if !m.shutDown {
				m.advance(d * int64(time.Second))
			} else {
				m.now += d * int64(time.Second)
			}
		},
		"ShutDown": func(t *rapid.T) {
			if rapid.IntRange(0, 9).Draw(t, "rarely") != 0 {
				t.Skip("shut down rarely, so that sequences run long")
			}
			q.ShutDown()
			m.shutDown = true
			for i, it := range m.items {
				if it.state == "waiting" {
					delete(m.items, i)
				}
			}
		},
		"": func(t *rapid.T) {
			if got, want := q.Len(), m.ready(); got != want {
				t.Fatalf("Len = %d, model has %d ready", got, want)
			}
			for i := range 6 {
				if got, want := q.NumRequeues(i), m.failures[i]; got != want {
					t.Fatalf("NumRequeues(%d) = %d, want %d", i, got, want)
				}
			}
			checkSnapshot(t, q.Snapshot(), m, start)
		},
	})
	q.ShutDown() // stop the timer so the bubble can end
}

// checkSnapshot compares a Snapshot with the model: every item once, in
// its state, with its priority, due time, requeue mark and retries, and
// the queued ones in hand-out order.
func checkSnapshot(t *rapid.T, snap []workqueue.ItemInfo[int], m *queueModel, start time.Time) {
	if len(snap) != len(m.items) {
		t.Fatalf("Snapshot has %d items, model %d", len(snap), len(m.items))
	}
	states := map[string]workqueue.ItemState{"ready": workqueue.Queued, "waiting": workqueue.Waiting, "processing": workqueue.Processing}
	var prev *modelItem
	for _, info := range snap {
		it := m.items[info.Item]
		if it == nil || states[it.state] != info.State || it.priority != info.Priority || info.Requeues != m.failures[info.Item] {
			t.Fatalf("Snapshot has %+v, model %+v (retries %d)", info, it, m.failures[info.Item])
		}
		switch it.state {
		case "ready":
			if prev != nil && (prev.priority < it.priority || prev.priority == it.priority && prev.ticket > it.ticket) {
				t.Fatalf("Snapshot lists %d out of hand-out order", info.Item)
			}
			prev = it
		case "waiting":
			want := start.Add(time.Duration(it.at))
			if it.at == math.MaxInt64 {
				want = time.Time{}
			}
			if !info.ReadyAt.Equal(want) {
				t.Fatalf("Snapshot: %d due at %v, model %v", info.Item, info.ReadyAt, want)
			}
		case "processing":
			if info.Requeued != it.dirty {
				t.Fatalf("Snapshot: %d requeued %v, model %v", info.Item, info.Requeued, it.dirty)
			}
		}
	}
}
