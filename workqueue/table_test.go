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

// TestDelayHeapModel checks the waiting heap against a plain slice: pops
// come out in (ready time, ticket) order, and removal or an earlier ready
// time anywhere in the heap keeps that order.
func TestDelayHeapModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var h delayHeap[int]
		var model []*entry[int]
		ticket := uint64(0)
		at := rapid.Int64Range(0, 20)
		pick := func(t *rapid.T) int { return rapid.IntRange(0, len(model)-1).Draw(t, "index") }
		removeFromModel := func(e *entry[int]) {
			for i, m := range model {
				if m == e {
					model = append(model[:i], model[i+1:]...)
					return
				}
			}
		}
		t.Repeat(map[string]func(*rapid.T){
			"push": func(t *rapid.T) {
				ticket++
				e := &entry[int]{readyAt: instant(at.Draw(t, "at")), ticket: ticket}
				h.push(e)
				model = append(model, e)
			},
			"pop": func(t *rapid.T) {
				if len(model) == 0 {
					t.Skip("empty")
				}
				first := model[0]
				for _, m := range model[1:] {
					if m.readyAt < first.readyAt || m.readyAt == first.readyAt && m.ticket < first.ticket {
						first = m
					}
				}
				if got := h.pop(); got != first {
					t.Fatalf("pop = (%v, %d), want (%v, %d)", got.readyAt, got.ticket, first.readyAt, first.ticket)
				}
				removeFromModel(first)
			},
			"remove": func(t *rapid.T) {
				if len(model) == 0 {
					t.Skip("empty")
				}
				e := model[pick(t)]
				h.remove(e)
				removeFromModel(e)
			},
			"earlier": func(t *rapid.T) {
				if len(model) == 0 {
					t.Skip("empty")
				}
				e := model[pick(t)]
				e.readyAt -= instant(rapid.Int64Range(0, 10).Draw(t, "by"))
				h.fix(e)
			},
			"": func(t *rapid.T) {
				if len(h) != len(model) {
					t.Fatalf("heap holds %d, model %d", len(h), len(model))
				}
				for i, w := range h {
					if w.e.heapIndex != i || w.at != w.e.readyAt {
						t.Fatalf("slot %d: heapIndex %d, at %v vs readyAt %v", i, w.e.heapIndex, w.at, w.e.readyAt)
					}
					if i > 0 && w.before(h[(i-1)/arity]) {
						t.Fatalf("slot %d is before its parent", i)
					}
				}
			},
		})
	})
}
