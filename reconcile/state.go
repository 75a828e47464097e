package reconcile

import (
	"fmt"
	"sync"
	"time"
)

// DefaultKeyStates is the default of Options.KeyStates: how many keys'
// last reconcile a controller with Options.Introspect remembers.
const DefaultKeyStates = 10_000

// KeyState is the last reconcile of one request, as a controller with
// Options.Introspect records it.
type KeyState[R comparable] struct {
	Request     R
	ReconcileID string
	Reason      Reason // why it ran
	Outcome     Outcome
	Terminal    bool   // the error was terminal: no retry
	Error       string // the error's text; "" without one
	Started     time.Time
	Duration    time.Duration
	// Retries is how many rate-limited retries of the request are on
	// record after this reconcile: 0 after a success.
	Retries int
	// Reconciles counts the reconciles of the request while it stayed in
	// the table.
	Reconciles int
}

// stateTable keeps the last [KeyState] of up to size requests, dropping
// the least recently reconciled first: a map and a list, most recent at
// the head. Recording a reconcile costs one map lookup and O(1) list moves;
// a new request takes the node it evicts once the table is full, so a
// full table allocates nothing.
type stateTable[R comparable] struct {
	size int

	mu         sync.Mutex // protects the fields below
	byRequest  map[R]*stateNode[R]
	head, tail *stateNode[R]
}

type stateNode[R comparable] struct {
	state      KeyState[R] // ReconcileID is filled in from id when read
	id         uint64
	prev, next *stateNode[R]
}

func (n *stateNode[R]) read() KeyState[R] {
	s := n.state
	s.ReconcileID = fmt.Sprintf("%016x", n.id)
	return s
}

func newStateTable[R comparable](size int) *stateTable[R] {
	return &stateTable[R]{size: size, byRequest: make(map[R]*stateNode[R])}
}

// record stores s as its request's last reconcile, whose id is id.
func (t *stateTable[R]) record(s KeyState[R], id uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n, ok := t.byRequest[s.Request]
	switch {
	case ok:
		s.Reconciles = n.state.Reconciles + 1
		t.lockedUnlink(n)
	case len(t.byRequest) >= t.size:
		n = t.tail
		t.lockedUnlink(n)
		delete(t.byRequest, n.state.Request)
		t.byRequest[s.Request] = n
		s.Reconciles = 1
	default:
		n = &stateNode[R]{}
		t.byRequest[s.Request] = n
		s.Reconciles = 1
	}
	n.state, n.id = s, id
	n.next = t.head
	if t.head != nil {
		t.head.prev = n
	} else {
		t.tail = n
	}
	t.head = n
}

func (t *stateTable[R]) lockedUnlink(n *stateNode[R]) {
	if n.prev != nil {
		n.prev.next = n.next
	} else {
		t.head = n.next
	}
	if n.next != nil {
		n.next.prev = n.prev
	} else {
		t.tail = n.prev
	}
	n.prev, n.next = nil, nil
}

// all returns the states, most recently reconciled first.
func (t *stateTable[R]) all() []KeyState[R] {
	t.mu.Lock()
	defer t.mu.Unlock()
	states := make([]KeyState[R], 0, len(t.byRequest))
	for n := t.head; n != nil; n = n.next {
		states = append(states, n.read())
	}
	return states
}

func (t *stateTable[R]) get(req R) (KeyState[R], bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n, ok := t.byRequest[req]; ok {
		return n.read(), true
	}
	return KeyState[R]{}, false
}
