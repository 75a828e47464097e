package workqueue

import (
	"testing"

	"pgregory.net/rapid"
)

// TestTableModel checks the hash table against a Go map after every step.
func TestTableModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		tab := newTable[int]()
		model := map[int]*entry[int]{}
		key := rapid.IntRange(0, 200)
		t.Repeat(map[string]func(*rapid.T){
			"insert": func(t *rapid.T) {
				k := key.Draw(t, "key")
				e, slot, h := tab.lookup(k)
				if (e != nil) != (model[k] != nil) {
					t.Fatalf("lookup(%d) found %v, model has %v", k, e, model[k])
				}
				if e == nil {
					e = &entry[int]{item: k}
					tab.insertAt(slot, h, e)
					model[k] = e
				}
			},
			"delete": func(t *rapid.T) {
				k := key.Draw(t, "key")
				e, slot, _ := tab.lookup(k)
				if e != model[k] {
					t.Fatalf("lookup(%d) = %v, model has %v", k, e, model[k])
				}
				if e != nil {
					tab.deleteAt(slot)
					delete(model, k)
				}
			},
			"": func(t *rapid.T) {
				if tab.n != len(model) {
					t.Fatalf("table holds %d, model %d", tab.n, len(model))
				}
				for k, want := range model {
					if e, _, _ := tab.lookup(k); e != want {
						t.Fatalf("lookup(%d) = %v, want %v", k, e, want)
					}
				}
			},
		})
	})
}

// TestDelayHeapModel checks the waiting heap against a plain slice: the
// live waiters come out in (ready time, ticket) order, and entries that stop
// waiting, wait for an earlier time or are reused leave stale waiters that
// are never handed out and never outnumber the live ones.
func TestDelayHeapModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var h delayHeap[int]
		var model, gone []*entry[int] // waiting; stopped waiting
		ticket := uint64(0)
		at := rapid.Int64Range(0, 20)
		pick := func(t *rapid.T, from []*entry[int]) int { return rapid.IntRange(0, len(from)-1).Draw(t, "index") }
		wait := func(e *entry[int]) {
			ticket++
			e.state, e.ticket = stateWaiting, ticket
			h.push(e)
			model = append(model, e)
		}
		stop := func(i int) {
			e := model[i]
			e.state = stateReady
			model = append(model[:i], model[i+1:]...)
			gone = append(gone, e)
		}
		t.Repeat(map[string]func(*rapid.T){
			"push": func(t *rapid.T) {
				wait(&entry[int]{readyAt: instant(at.Draw(t, "at"))})
			},
			"pop": func(t *rapid.T) {
				w, ok := h.first()
				if ok != (len(model) > 0) {
					t.Fatalf("first found %v with %d waiting", ok, len(model))
				}
				if !ok {
					return
				}
				best := 0
				for i, m := range model {
					if m.readyAt < model[best].readyAt || m.readyAt == model[best].readyAt && m.ticket < model[best].ticket {
						best = i
					}
				}
				if e := model[best]; w.e != e {
					t.Fatalf("first = (%v, %d), want (%v, %d)", w.e.readyAt, w.e.ticket, e.readyAt, e.ticket)
				}
				h.pop()
				stop(best)
			},
			"stop waiting": func(t *rapid.T) {
				if len(model) == 0 {
					t.Skip("empty")
				}
				stop(pick(t, model))
				h.abandon()
			},
			"earlier": func(t *rapid.T) {
				if len(model) == 0 {
					t.Skip("empty")
				}
				e := model[pick(t, model)]
				e.readyAt -= instant(rapid.Int64Range(1, 10).Draw(t, "by"))
				h.push(e)
				h.abandon()
			},
			"reuse": func(t *rapid.T) {
				if len(gone) == 0 {
					t.Skip("nothing to reuse")
				}
				i := pick(t, gone)
				e := gone[i]
				gone = append(gone[:i], gone[i+1:]...)
				e.readyAt = instant(at.Draw(t, "at"))
				wait(e)
			},
			"": func(t *rapid.T) {
				live := map[*entry[int]]bool{}
				for i, w := range h.w {
					if i > 0 && w.before(h.w[(i-1)/arity]) {
						t.Fatalf("slot %d is before its parent", i)
					}
					if w.isLive() {
						if live[w.e] {
							t.Fatalf("two live waiters for one entry")
						}
						live[w.e] = true
					}
				}
				if len(live) != len(model) {
					t.Fatalf("heap has %d live waiters, model %d waiting", len(live), len(model))
				}
				for _, e := range model {
					if !live[e] {
						t.Fatalf("entry due at %v has no live waiter", e.readyAt)
					}
				}
				if stale := len(h.w) - len(live); stale != h.stale || stale > len(live) {
					t.Fatalf("%d stale waiters (counted %d) beside %d live ones", stale, h.stale, len(live))
				}
			},
		})
	})
}
