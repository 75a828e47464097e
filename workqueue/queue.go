package workqueue

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Queue is a deduplicating, delaying, rate-limited, prioritised work queue.
// See the package documentation for its contract.
//
// The zero Queue is an empty queue configured as New(Options{}) configures
// one: the [DefaultControllerRateLimiter] and no metrics. It sets itself up
// on first use. A Queue must not be copied after first use. All methods are
// safe for concurrent use; the package doc states their costs.
type Queue[T comparable] struct {
	// setUp is set once the fields up to mu are: by New, or by the first
	// method called on a zero Queue (under mu). They are read without the
	// lock only after setUp is seen true.
	setUp   atomic.Bool
	limiter RateLimiter[T]
	metrics QueueMetrics // nil when metrics are off
	timed   bool         // entries record their since: metrics or Options.Timestamps
	epoch   time.Time    // instants count from here

	mu   sync.Mutex // protects everything below
	cond sync.Cond  // signalled when an item becomes ready; broadcast on shutdown or a Get's ctx end

	entries table[T]    // every item the queue knows: ready, waiting or processing
	levels  []*level[T] // ready items by priority, highest first
	ready   int         // ready items, over all levels
	ticket  uint64      // last ticket given out; orders ready slots and waiting entries

	waiting    delayHeap[T] // waiting items, earliest first
	timer      *time.Timer  // fires when the earliest waiting item is due
	timerAt    instant      // when timer fires, if timerArmed
	timerArmed bool

	processing int       // items handed out and not yet Done
	oldest     *entry[T] // processing items, oldest first; kept only with metrics
	newest     *entry[T]
	drained    chan struct{} // closed when processing reaches 0, for ShutDownWithDrain

	free   []*entry[T] // spare entries, so that steady state allocates nothing
	unused []entry[T]  // entries allocated together and not yet used

	// lastDuplicate is the entry the last duplicate add found, while the
	// table holds it: the next add compares with it before hashing.
	lastDuplicate *entry[T]
	shuttingDown  bool
}

type state uint8

const (
	stateReady state = iota + 1
	stateWaiting
	stateProcessing
)

// entry is the queue's record of one item.
type entry[T comparable] struct {
	item  T
	state state
	// dirty: processing, and added again meanwhile; Done puts it back.
	dirty    bool
	priority int
	// readyAt: when a waiting item is due; for a dirty item, when its re-add
	// is due (zero: at once).
	readyAt instant
	ticket  uint64 // identifies its live ready slot or waiter; orders waiters due at once
	// since: when it became ready, or started processing (only if q.timed).
	since      instant
	prev, next *entry[T] // the processing list (metrics only)
}

// maxFree bounds the spare entries kept for reuse after a burst.
const maxFree = 4096

// entryBatch is how many entries one allocation makes: a burst of new items
// costs one allocation per batch instead of one per item.
const entryBatch = 64

// New returns an empty queue configured by opts. It starts no goroutine.
// Invalid options yield an error wrapping [controlloop.ErrInvalid] that
// names the field and the rule it breaks.
func New[T comparable](opts Options[T]) (*Queue[T], error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	q := new(Queue[T])
	q.configure(opts)
	return q, nil
}

// configure sets q up as opts say. q must not be shared yet, or q.mu must
// be held.
func (q *Queue[T]) configure(opts Options[T]) {
	q.limiter = opts.RateLimiter
	if q.limiter == nil {
		q.limiter = DefaultControllerRateLimiter[T]()
	}
	if opts.Metrics != nil {
		q.metrics = opts.Metrics.ForQueue(opts.Name, q.inFlight)
	}
	q.timed = q.metrics != nil || opts.Timestamps
	q.epoch = time.Now()
	q.entries = newTable[T]()
	q.cond.L = &q.mu
	q.setUp.Store(true)
}

// init sets up a zero Queue on its first use; afterwards it costs one
// atomic load.
func (q *Queue[T]) init() {
	if !q.setUp.Load() {
		q.initSlow()
	}
}

func (q *Queue[T]) initSlow() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.setUp.Load() {
		q.configure(Options[T]{})
	}
}

// Add makes item ready now, unless it is already queued. An item being
// processed is queued again when it is Done. After ShutDown, Add does nothing.
func (q *Queue[T]) Add(item T) {
	q.init()
	q.mu.Lock()
	if !q.shuttingDown {
		q.lockedAdd(item, 0, 0)
	}
	q.mu.Unlock()
}

// AddAfter makes item ready after delay; a delay that is not positive is
// the same as [Queue.Add]. An item already waiting keeps the earlier of its
// two ready times; an item already ready stays ready.
func (q *Queue[T]) AddAfter(item T, delay time.Duration) {
	q.AddWithOptions(item, AddOptions{After: delay})
}

// AddRateLimited adds item after the delay the rate limiter gives it, and
// counts a retry.
func (q *Queue[T]) AddRateLimited(item T) {
	q.AddWithOptions(item, AddOptions{RateLimited: true})
}

// AddWithOptions adds item as opts say. Adding an item the queue already
// holds merges the two adds: the item keeps the highest priority and the
// earliest ready time of the two, and is handed out once.
func (q *Queue[T]) AddWithOptions(item T, opts AddOptions) {
	q.init()
	delay := opts.After
	if opts.RateLimited {
		delay = later(max(delay, 0), q.limiter.When(item))
	}
	// The due time counts from the call, so the clock is read before the
	// lock is taken; an add without delay reads it only if it has to.
	var at instant
	if delay > 0 {
		at = later(q.now(), delay)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.shuttingDown {
		return
	}
	if q.metrics != nil && (opts.RateLimited || opts.After > 0) {
		q.metrics.Retried()
	}
	q.lockedAdd(item, opts.Priority, at)
}

// lockedAdd adds item with priority, due at instant at (0: ready now). It
// reads the clock only when item becomes ready and metrics are on: a
// duplicate add costs one lookup, and a run of duplicate adds of one item
// (a hot key) one comparison each after the first.
func (q *Queue[T]) lockedAdd(item T, priority int, at instant) {
	e := q.lastDuplicate
	if e == nil || e.item != item {
		var slot int
		var hash uint64
		e, slot, hash = q.entries.lookup(item)
		if e == nil {
			q.lockedAddNew(item, slot, hash, priority, at)
			return
		}
		q.lastDuplicate = e
	}
	switch e.state {
	case stateReady:
		if priority > e.priority {
			q.levelFor(e.priority).live--
			e.priority = priority
			q.lockedPush(e)
		}
	case stateWaiting:
		e.priority = max(e.priority, priority)
		if at == 0 {
			q.lockedStopWaiting(e)
			q.lockedReady(e, q.metricsNow())
			return
		}
		if at < e.readyAt {
			q.lockedWaitLess(e, at)
		}
	case stateProcessing:
		if !e.dirty {
			e.dirty, e.priority, e.readyAt = true, priority, at
			return
		}
		e.priority = max(e.priority, priority)
		e.readyAt = min(e.readyAt, at)
	}
}

// lockedAddNew adds item, which the table does not hold, in slot as
// lookup returned it.
func (q *Queue[T]) lockedAddNew(item T, slot int, hash uint64, priority int, at instant) {
	e := q.newEntry(item)
	q.entries.insertAt(slot, hash, e)
	e.priority = priority
	if at > 0 {
		q.lockedWait(e, at)
	} else {
		q.lockedReady(e, q.metricsNow())
	}
}

// lockedReady makes e ready: at the back of its priority level.
func (q *Queue[T]) lockedReady(e *entry[T], now instant) {
	e.state = stateReady
	e.since = now
	q.ready++
	q.lockedPush(e)
	if q.metrics != nil {
		q.metrics.Added()
	}
	q.cond.Signal()
}

// lockedPush gives e a new ticket and a slot at the back of its level. A
// slot it had before goes stale: Get skips it.
func (q *Queue[T]) lockedPush(e *entry[T]) {
	q.ticket++
	e.ticket = q.ticket
	q.levelFor(e.priority).push(slot[T]{e, e.ticket})
}

// Get blocks until an item is ready, hands it out and marks it processing:
// the caller must call [Queue.Done] with it when finished. Get returns
// ctx.Err() once ctx ends, and [ErrShutDown] once the queue is shut down and
// no ready item is left.
func (q *Queue[T]) Get(ctx context.Context) (T, error) {
	q.init()
	q.mu.Lock()
	if err := ctx.Err(); err == nil && q.ready > 0 {
		item := q.lockedPop()
		q.mu.Unlock()
		return item, nil
	}
	defer q.mu.Unlock()
	return q.lockedWaitAndPop(ctx)
}

func (q *Queue[T]) lockedWaitAndPop(ctx context.Context) (T, error) {
	var zero T
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, q.wakeAll)
		defer stop()
	}
	for {
		if err := ctx.Err(); err != nil {
			return zero, err
		}
		if q.ready > 0 {
			return q.lockedPop(), nil
		}
		if q.shuttingDown {
			return zero, ErrShutDown
		}
		q.cond.Wait()
	}
}

func (q *Queue[T]) wakeAll() {
	q.mu.Lock()
	q.cond.Broadcast()
	q.mu.Unlock()
}

// lockedPop hands out the first ready item of the highest level. It must
// only be called with q.ready > 0.
func (q *Queue[T]) lockedPop() T {
	var e *entry[T]
	for _, l := range q.levels {
		if l.live > 0 {
			e = l.pop()
			break
		}
	}
	q.ready--
	e.state = stateProcessing
	q.processing++
	if q.timed {
		now := q.now()
		if q.metrics != nil {
			q.metrics.Started(now - e.since)
			q.linkProcessing(e)
		}
		e.since = now
	}
	return e.item
}

// Done marks item as no longer processing. If it was added again while
// processing, it is queued again now (or when its delay ends). Done of an
// item that is not processing does nothing.
func (q *Queue[T]) Done(item T) {
	q.init()
	q.mu.Lock()
	defer q.mu.Unlock()
	e, slot, _ := q.entries.lookup(item)
	if e == nil || e.state != stateProcessing {
		return
	}
	q.processing--
	now := q.metricsNow()
	if !q.timed && e.dirty && e.readyAt > 0 {
		now = q.now()
	}
	if q.metrics != nil {
		q.metrics.Finished(now - e.since)
		q.unlinkProcessing(e)
	}
	switch {
	case !e.dirty:
		q.entries.deleteAt(slot)
		q.release(e)
	case e.readyAt <= now:
		e.dirty = false
		q.lockedReady(e, now)
	case q.shuttingDown:
		// Delayed items are dropped at shutdown; this one was delayed.
		q.entries.deleteAt(slot)
		q.release(e)
	default:
		e.dirty = false
		q.lockedWait(e, e.readyAt)
	}
	if q.processing == 0 && q.drained != nil {
		close(q.drained)
		q.drained = nil
	}
}

// Forget clears item's rate-limit history, so that its next
// AddRateLimited waits the shortest delay again. Call it when an item has
// succeeded (or has been given up on). It does not remove item from the queue.
func (q *Queue[T]) Forget(item T) {
	q.init()
	q.limiter.Forget(item)
}

// NumRequeues returns how many rate-limited retries of item are on record.
func (q *Queue[T]) NumRequeues(item T) int {
	q.init()
	return q.limiter.NumRequeues(item)
}

// Len returns the number of ready items: not those waiting for their delay,
// nor those being processed.
func (q *Queue[T]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.ready
}

// ShutDown stops the queue: later adds do nothing, waiting (delayed) items
// are dropped, blocked Gets wake, and Get hands out the items still ready
// before it returns [ErrShutDown]. It ends the wait of a ShutDownWithDrain.
// Calling it again does nothing.
func (q *Queue[T]) ShutDown() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.lockedShutDown()
	if q.drained != nil {
		close(q.drained)
		q.drained = nil
	}
}

// ShutDownWithDrain shuts the queue down as [Queue.ShutDown] does, then
// waits until no item is being processed: every item handed out is Done.
// Workers must keep calling Get and Done until Get returns [ErrShutDown].
// The wait also ends when ctx ends (returning ctx.Err()) or when ShutDown is
// called.
func (q *Queue[T]) ShutDownWithDrain(ctx context.Context) error {
	q.mu.Lock()
	q.lockedShutDown()
	if q.processing == 0 {
		q.mu.Unlock()
		return nil
	}
	if q.drained == nil {
		q.drained = make(chan struct{})
	}
	drained := q.drained
	q.mu.Unlock()
	select {
	case <-drained:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (q *Queue[T]) lockedShutDown() {
	if q.shuttingDown {
		return
	}
	q.shuttingDown = true
	q.waiting.live(func(e *entry[T]) {
		_, slot, _ := q.entries.lookup(e.item)
		q.entries.deleteAt(slot)
		q.release(e)
	})
	q.waiting.reset()
	if q.timer != nil {
		q.timer.Stop()
		q.timerArmed = false
	}
	q.cond.Broadcast()
}

// ShuttingDown reports whether ShutDown (or ShutDownWithDrain) was called.
func (q *Queue[T]) ShuttingDown() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.shuttingDown
}

// An instant is a point in time, as the time elapsed since the queue's
// epoch. Reading it costs one monotonic clock read; time.Now costs two.
type instant = time.Duration

func (q *Queue[T]) now() instant { return time.Since(q.epoch) }

// later returns t+d, or the last instant if that overflows: a delay too long
// for the clock (a limiter's rate.InfDuration, say) waits forever rather
// than wrapping into the past. t must not be negative.
func later(t instant, d time.Duration) instant {
	if at := t + d; at >= t || d < 0 {
		return at
	}
	return math.MaxInt64
}

// metricsNow reads the clock only when metrics or timestamps need it.
func (q *Queue[T]) metricsNow() instant {
	if !q.timed {
		return 0
	}
	return q.now()
}

func (q *Queue[T]) newEntry(item T) *entry[T] {
	if n := len(q.free); n > 0 {
		e := q.free[n-1]
		q.free = q.free[:n-1]
		e.item = item
		return e
	}
	if len(q.unused) == 0 {
		q.unused = make([]entry[T], entryBatch)
	}
	e := &q.unused[0]
	q.unused = q.unused[1:]
	e.item = item
	return e
}

// release keeps e, which the table no longer holds, for reuse.
func (q *Queue[T]) release(e *entry[T]) {
	if q.lastDuplicate == e {
		q.lastDuplicate = nil
	}
	*e = entry[T]{}
	if len(q.free) < maxFree {
		q.free = append(q.free, e)
	}
}

func (q *Queue[T]) linkProcessing(e *entry[T]) {
	e.prev, e.next = q.newest, nil
	if q.newest != nil {
		q.newest.next = e
	} else {
		q.oldest = e
	}
	q.newest = e
}

func (q *Queue[T]) unlinkProcessing(e *entry[T]) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		q.oldest = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		q.newest = e.prev
	}
	e.prev, e.next = nil, nil
}

// inFlight reports the processing items' ages and the oldest ready item's,
// for metrics.
func (q *Queue[T]) inFlight() InFlight {
	q.mu.Lock()
	defer q.mu.Unlock()
	var f InFlight
	now := q.now()
	if since, ok := q.lockedOldestReady(); ok {
		f.OldestReady = now - since
	}
	if q.oldest == nil {
		return f
	}
	f.Longest = now - q.oldest.since
	for e := q.oldest; e != nil; e = e.next {
		f.Unfinished += now - e.since
	}
	return f
}
