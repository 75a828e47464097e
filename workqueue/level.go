package workqueue

// A level holds the ready items of one priority in arrival order: a ring of
// slots. An item that moves to a higher level leaves a stale slot behind,
// which pop skips: a slot is live only while its ticket matches its entry's.
type level[T comparable] struct {
	priority int
	live     int       // live slots
	buf      []slot[T] // ring; len is zero or a power of two
	head, n  int       // first slot, and slots in use (live or stale)
}

type slot[T comparable] struct {
	e      *entry[T]
	ticket uint64
}

func (s slot[T]) isLive() bool { return s.e.state == stateReady && s.e.ticket == s.ticket }

func (l *level[T]) push(s slot[T]) {
	if l.n == len(l.buf) {
		l.grow()
	}
	l.buf[(l.head+l.n)&(len(l.buf)-1)] = s
	l.n++
	l.live++
}

func (l *level[T]) grow() {
	buf := make([]slot[T], max(16, 2*len(l.buf)))
	for i := range l.n {
		buf[i] = l.buf[(l.head+i)&(len(l.buf)-1)]
	}
	l.buf, l.head = buf, 0
}

// pop removes and returns the first live entry; the level must have one.
func (l *level[T]) pop() *entry[T] {
	for {
		s := l.buf[l.head]
		l.buf[l.head] = slot[T]{}
		l.head = (l.head + 1) & (len(l.buf) - 1)
		l.n--
		if s.isLive() {
			l.live--
			if l.live == 0 {
				l.clearStale()
			}
			return s.e
		}
	}
}

// clearStale drops the slots of a level that has no live one.
func (l *level[T]) clearStale() {
	for ; l.n > 0; l.n-- {
		l.buf[l.head] = slot[T]{}
		l.head = (l.head + 1) & (len(l.buf) - 1)
	}
	l.head = 0
}

// maxIdleLevels is how many empty levels the queue keeps for reuse before
// it drops them; most queues use one or two priorities.
const maxIdleLevels = 8

// levelFor returns the level of priority, making it if needed.
func (q *Queue[T]) levelFor(priority int) *level[T] {
	l, i := q.findLevel(priority)
	if l != nil {
		return l
	}
	if len(q.levels) >= maxIdleLevels {
		q.dropEmptyLevels()
		_, i = q.findLevel(priority)
	}
	l = &level[T]{priority: priority}
	q.levels = append(q.levels, nil)
	copy(q.levels[i+1:], q.levels[i:])
	q.levels[i] = l
	return l
}

// findLevel returns the level of priority, or nil and where it would go.
func (q *Queue[T]) findLevel(priority int) (*level[T], int) {
	for i, l := range q.levels {
		if l.priority == priority {
			return l, i
		}
		if l.priority < priority {
			return nil, i
		}
	}
	return nil, len(q.levels)
}

func (q *Queue[T]) dropEmptyLevels() {
	kept := q.levels[:0]
	for _, l := range q.levels {
		if l.live > 0 {
			kept = append(kept, l)
		}
	}
	clear(q.levels[len(kept):])
	q.levels = kept
}
