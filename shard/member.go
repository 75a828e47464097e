package shard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/workqueue"
)

// Member is one replica's part in a ring: it keeps the replica's
// membership, claims the slots rendezvous hashing gives it, hands off the
// ones it no longer should hold, and admits only the requests of the slots
// it works (it is a reconcile.Admitter; pass it as the controller's
// Options.Admitter and [Member.Attach] the controller's queue).
//
// Create one with [New]; its methods are safe for concurrent use.
type Member struct {
	coord   Coordinator
	opts    Options
	log     *slog.Logger
	metrics *metrics
	// kick wakes the loop when a slot is lost or a handoff ends.
	kick chan struct{}

	mu sync.Mutex // protects the fields below
	// slots are the slots this member holds a claim of.
	slots   map[int]*held
	queue   *workqueue.Queue[controlloop.Key]
	started bool
}

// held is a slot this member holds a claim of.
type held struct {
	slot  int
	epoch int64
	state slotState
	// inflight counts the reconciles of the slot's keys under way.
	inflight int
	// drained, while draining, is closed once inflight is 0.
	drained chan struct{}
	// sessionDone is the Done of the session the claim belongs to.
	sessionDone <-chan struct{}
	// ctx ends when the claim is given up or lost; reconciles under the
	// claim run under it.
	ctx    context.Context
	cancel context.CancelFunc
	since  time.Time // when draining started
}

type slotState uint8

const (
	// claimed: the claim is made; the cache is not known to be fresh yet.
	claimed slotState = iota
	// active: the slot's keys are admitted.
	active
	// draining: no key is admitted; the claim is released once inflight
	// is 0 or Options.DrainTimeout has passed.
	draining
)

// New returns a member of the ring opts name, coordinating through coord.
// It starts nothing: call Run. A nil coord and invalid options are refused
// with an error wrapping [controlloop.ErrInvalid].
func New(coord Coordinator, opts Options) (*Member, error) {
	var errs []error
	if coord == nil {
		errs = append(errs, invalid("Coordinator", "nil", "required"))
	}
	if err := errors.Join(append(errs, opts.validate())...); err != nil {
		return nil, err
	}
	opts.setDefaults()
	m := &Member{
		coord: coord, opts: opts,
		log:   opts.Logger.With("ring", opts.Ring, "member", opts.ID),
		kick:  make(chan struct{}, 1),
		slots: make(map[int]*held),
	}
	var err error
	if m.metrics, err = newMetrics(opts.Registerer, opts.Ring, opts.ID); err != nil {
		return nil, fmt.Errorf("shard: registering metrics: %w", err)
	}
	return m, nil
}

// Attach gives the member the queue its controller works from: keys of a
// slot just claimed are added to it. Call it before Run.
func (m *Member) Attach(q *workqueue.Queue[controlloop.Key]) {
	m.mu.Lock()
	m.queue = q
	m.mu.Unlock()
}

// Slot returns the slot of key.
func (m *Member) Slot(key controlloop.Key) int { return SlotOf(m.opts.KeyFunc(key), m.opts.Slots) }

// Owned returns the slots whose keys the member admits now, in order.
func (m *Member) Owned() []int {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []int
	for s, h := range m.slots {
		if h.state == active {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// Admit reports whether key's slot is one the member works now: claimed,
// fresh and not draining. It implements reconcile.Admitter.
func (m *Member) Admit(key controlloop.Key) bool {
	slot := m.Slot(key)
	m.mu.Lock()
	defer m.mu.Unlock()
	h := m.slots[slot]
	return h != nil && h.state == active && !closed(h.sessionDone)
}

// Begin re-checks, when a worker takes key, that the member still works
// its slot, and counts the reconcile in flight until end is called. The
// reconcile's context carries the claim's [Token] (for fenced writes) and
// is cancelled if the claim is lost. It implements reconcile.Admitter.
func (m *Member) Begin(workCtx context.Context, key controlloop.Key) (context.Context, func(), bool) {
	slot := m.Slot(key)
	m.mu.Lock()
	h := m.slots[slot]
	if h == nil || h.state != active || closed(h.sessionDone) {
		m.mu.Unlock()
		return workCtx, nil, false
	}
	h.inflight++
	m.mu.Unlock()

	ctx, cancel := context.WithCancel(workCtx)
	stop := context.AfterFunc(h.ctx, cancel)
	t := Token{Ring: m.opts.Ring, Member: m.opts.ID, Slot: slot, Epoch: h.epoch, lost: func() { m.fenced(h) }}
	end := func() {
		stop()
		cancel()
		m.mu.Lock()
		h.inflight--
		if h.inflight == 0 && h.drained != nil {
			close(h.drained)
			h.drained = nil
		}
		m.mu.Unlock()
	}
	return WithToken(ctx, t), end, true
}

// fenced records that a write under h's claim was refused: the claim is
// not current, so the slot is lost.
func (m *Member) fenced(h *held) {
	if m.metrics != nil {
		m.metrics.fenced.Inc()
	}
	m.mu.Lock()
	if m.slots[h.slot] == h {
		m.lockedLose(h)
	}
	m.mu.Unlock()
	m.wake()
}

func (m *Member) wake() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// lockedLose forgets h, a claim that is no longer current: its reconciles
// are cancelled (their writes are fenced anyway).
func (m *Member) lockedLose(h *held) {
	delete(m.slots, h.slot)
	h.cancel()
	if h.drained != nil {
		close(h.drained)
		h.drained = nil
	}
}

// Run joins the ring and works in it until ctx ends: it claims the slots
// rendezvous hashing over the stable member set gives this member, hands
// off the others, and joins again (with the same ID) whenever its session
// is lost. When ctx ends it stops admitting, waits for the reconciles in
// flight (at most Options.DrainTimeout), and leaves the ring, which frees
// its slots at once; the leave, and any release under way, get at most
// DrainTimeout more. So Run returns within 2 × DrainTimeout after ctx
// ends.
//
// It returns nil when ctx ended and an error wrapping
// [controlloop.ErrInvalid] if the coordinator refuses the ring's
// parameters. A member runs once: a second Run returns an error wrapping
// [controlloop.ErrAlreadyStarted].
func (m *Member) Run(ctx context.Context) error {
	m.mu.Lock()
	if m.started {
		m.mu.Unlock()
		return fmt.Errorf("shard: Member.Run: %w", controlloop.ErrAlreadyStarted)
	}
	m.started = true
	m.mu.Unlock()

	retry := 100 * time.Millisecond
	for {
		sess, err := m.coord.Join(ctx, m.opts.Ring, m.opts.ID, m.opts.Slots)
		switch {
		case ctx.Err() != nil:
			if sess != nil {
				_ = sess.Close(context.WithoutCancel(ctx))
			}
			return nil
		case errors.Is(err, controlloop.ErrInvalid):
			return err
		case err != nil:
			// ErrMemberInUse: this ID's previous session has not ended
			// yet; other errors: the coordinator is out of reach.
			m.log.Warn("joining the ring failed: retrying", "err", err, "after", retry)
			if !sleep(ctx, retry) {
				return nil
			}
			retry = min(2*retry, 5*time.Second)
			continue
		}
		retry = 100 * time.Millisecond
		m.serve(ctx, sess)
		if ctx.Err() != nil {
			return nil
		}
		m.log.Warn("session lost: joining again")
	}
}

// serve works in the ring under sess until the session ends or ctx does.
func (m *Member) serve(ctx context.Context, sess Session) {
	var wg sync.WaitGroup
	defer wg.Wait()
	l := loop{m: m, sess: sess, wg: &wg}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		v := sess.View()
		if wait := l.observe(v); wait > 0 {
			timer.Reset(wait)
		}
		l.step(ctx, v)
		if l.retry {
			l.retry = false
			timer.Reset(time.Second)
		}
		select {
		case <-ctx.Done():
			m.leave(sess)
			return
		case <-sess.Done():
			m.loseAll()
			return
		case <-sess.Changed():
		case <-m.kick:
		case <-timer.C:
		}
	}
}

// leave stops admitting, lets the reconciles in flight finish (at most
// DrainTimeout) and ends the session, which frees every claim at once.
func (m *Member) leave(sess Session) {
	m.mu.Lock()
	var waits []chan struct{}
	for _, h := range m.slots {
		h.state = draining
		if h.inflight > 0 && h.drained == nil {
			h.drained = make(chan struct{})
		}
		if h.drained != nil {
			waits = append(waits, h.drained)
		}
	}
	m.mu.Unlock()
	deadline := time.NewTimer(m.opts.DrainTimeout)
	defer deadline.Stop()
	for _, w := range waits {
		select {
		case <-w:
		case <-deadline.C:
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), m.opts.DrainTimeout)
	defer cancel()
	if err := sess.Close(ctx); err != nil {
		m.log.Warn("leaving the ring failed: the claims end with the lease", "err", err)
	}
	m.loseAll()
}

// loseAll forgets every claim.
func (m *Member) loseAll() {
	m.mu.Lock()
	for _, h := range m.slots {
		m.lockedLose(h)
	}
	m.mu.Unlock()
	m.record(View{})
}

// loop is serve's state: the member set it acts on.
type loop struct {
	m    *Member
	sess Session
	wg   *sync.WaitGroup
	// seen is the member set of the latest view and seenAt when it was
	// first seen; stable is the last member set that stayed unchanged for
	// the window, and owners its assignment.
	seen     []string
	seenAt   time.Time
	stable   []string
	haveStab bool
	owners   []string
	// retry asks for another step soon: a freshness wait failed.
	retry bool
}

// observe takes note of v's member set and returns how long until it is
// stable, or 0 if it is.
func (l *loop) observe(v View) time.Duration {
	now := time.Now()
	if l.seen == nil || !slices.Equal(v.Members, l.seen) {
		l.seen, l.seenAt = slices.Clone(v.Members), now
		if l.seen == nil {
			l.seen = []string{}
		}
	}
	if left := l.m.opts.Window - now.Sub(l.seenAt); left > 0 {
		return left
	}
	if !l.haveStab || !slices.Equal(l.stable, l.seen) {
		l.stable, l.haveStab = l.seen, true
		l.owners = assignment(l.m.opts.Slots, l.stable)
	}
	return 0
}

// step brings the member's claims towards what the stable member set
// wants, as far as v allows: it notes claims that are lost, starts
// handoffs (at most MaxHandoffs at once), and claims free slots that are
// its own.
func (l *loop) step(ctx context.Context, v View) {
	m := l.m
	if len(v.Claims) != m.opts.Slots {
		return // no view yet
	}
	me := m.opts.ID
	mine := func(slot int) bool { return l.owners != nil && l.owners[slot] == me }
	m.mu.Lock()
	drainingNow := 0
	for _, h := range m.slots {
		if h.state == draining {
			drainingNow++
		}
	}
	for slot, h := range m.slots {
		c := v.Claims[slot]
		if v.Revision >= h.epoch && c != (Claim{Owner: me, Epoch: h.epoch}) {
			m.lockedLose(h) // the lease ended, or the view is of a later claim
			continue
		}
		if h.state != draining && l.haveStab && !mine(slot) && drainingNow < m.opts.MaxHandoffs {
			drainingNow++
			l.lockedStartHandoff(h)
		}
	}
	var free []int
	for slot, c := range v.Claims {
		if c == (Claim{}) && mine(slot) && m.slots[slot] == nil {
			free = append(free, slot)
		}
	}
	m.mu.Unlock()
	l.claim(ctx, free)
	m.record(v)
}

// lockedStartHandoff stops admitting h's keys and releases its claim once
// its reconciles in flight are done, or DrainTimeout has passed.
func (l *loop) lockedStartHandoff(h *held) {
	m := l.m
	h.state, h.since = draining, time.Now()
	drained := h.drained
	if h.inflight > 0 {
		h.drained = make(chan struct{})
		drained = h.drained
	}
	l.wg.Go(func() {
		if drained != nil {
			t := time.NewTimer(m.opts.DrainTimeout)
			select {
			case <-drained:
			case <-t.C:
				m.log.Warn("handoff: reconciles still running after DrainTimeout: releasing (their writes are fenced)", "slot", h.slot)
			}
			t.Stop()
		}
		ctx, cancel := context.WithTimeout(context.Background(), m.opts.DrainTimeout)
		err := l.sess.Release(ctx, h.slot, h.epoch)
		cancel()
		m.mu.Lock()
		if m.slots[h.slot] == h {
			m.lockedLose(h)
		}
		m.mu.Unlock()
		if err != nil {
			m.log.Warn("handoff: release failed: the claim ends with the lease", "slot", h.slot, "err", err)
		} else if m.metrics != nil {
			m.metrics.handoffs.Inc()
			m.metrics.handoffSeconds.Observe(time.Since(h.since).Seconds())
		}
		m.wake()
	})
}

// claim claims the free slots; activate then makes them worked.
func (l *loop) claim(ctx context.Context, free []int) {
	m := l.m
	for _, slot := range free {
		epoch, err := l.sess.Claim(ctx, slot)
		if err != nil {
			if !errors.Is(err, ErrClaimed) && ctx.Err() == nil {
				m.log.Warn("claiming a slot failed", "slot", slot, "err", err)
			}
			continue
		}
		hctx, cancel := context.WithCancel(context.Background())
		m.mu.Lock()
		m.slots[slot] = &held{slot: slot, epoch: epoch, state: claimed, sessionDone: l.sess.Done(), ctx: hctx, cancel: cancel}
		m.mu.Unlock()
	}
	l.activate(ctx)
}

// activate waits for the cache to be fresh as of the newest claim not yet
// worked, then admits the keys of every such slot and enqueues those the
// cache holds. If the wait fails, the slots stay claimed and the next step
// tries again.
func (l *loop) activate(ctx context.Context) {
	m := l.m
	var newest int64
	m.mu.Lock()
	for _, h := range m.slots {
		if h.state == claimed {
			newest = max(newest, h.epoch)
		}
	}
	m.mu.Unlock()
	if newest == 0 {
		return
	}
	if m.opts.Fresh != nil {
		if err := m.opts.Fresh(ctx, newest); err != nil {
			if ctx.Err() == nil {
				m.log.Warn("waiting for a fresh cache failed: trying again at the next change", "err", err)
				l.retry = true
			}
			return
		}
	}
	activated := map[int]bool{}
	m.mu.Lock()
	for _, h := range m.slots {
		if h.state == claimed && h.epoch <= newest {
			h.state = active
			activated[h.slot] = true
		}
	}
	q := m.queue
	m.mu.Unlock()
	if q == nil || m.opts.Keys == nil {
		return
	}
	for key := range m.opts.Keys {
		if activated[m.Slot(key)] {
			q.Add(key)
		}
	}
}

// record sets the gauges from v and the member's claims.
func (m *Member) record(v View) {
	if m.metrics == nil {
		return
	}
	m.mu.Lock()
	owned, handingOff := len(m.slots), 0
	for _, h := range m.slots {
		if h.state == draining {
			handingOff++
		}
	}
	m.mu.Unlock()
	unowned := 0
	for _, c := range v.Claims {
		if c == (Claim{}) {
			unowned++
		}
	}
	m.metrics.owned.Set(float64(owned))
	m.metrics.draining.Set(float64(handingOff))
	m.metrics.unowned.Set(float64(unowned))
}

// closed reports whether ch is closed.
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
