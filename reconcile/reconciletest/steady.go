package reconciletest

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing/synctest"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/informer"
	"github.com/controlloop/controlloop/reconcile"
	"github.com/controlloop/controlloop/workqueue"
)

// While a request is queued or in a reconcile (a reconciler that sleeps,
// a controller waiting for its caches to sync) or a cache is behind,
// Steady has nothing to wait on that tells it when that ends: it looks
// again after firstPoll of virtual time, then after twice as long each
// time nothing changed, up to maxPoll.
const (
	firstPoll = time.Millisecond
	maxPoll   = time.Second
)

// Steady ends every fault in force ([World.Heal]), then lets the system
// run, in virtual time, until it is steady: no request queued, waiting (a
// retry, a RequeueAfter) or being reconciled in any controller of the
// Managers the World runs, and every cache of theirs over one of the
// World's stores has applied the store's current version. It returns nil
// then, with every goroutine of the bubble blocked: the state it leaves
// holds until virtual time moves on.
//
// Steady moves virtual time only as far as it must: to the next waiting
// request, to a cache's next advance (the end of a reflector's backoff),
// or, while something runs whose end it cannot see, by a millisecond,
// then by twice as long each time, up to a second. So it returns at once
// in real time, whatever the delays. It calls synctest.Wait, so no other
// goroutine may wait with synctest.Wait meanwhile.
//
// A system that does not get steady within Options.SteadyTimeout of
// virtual time (a RequeueAfter loop, a request that keeps failing, a cache
// that cannot catch up) makes Steady return an error wrapping
// [ErrNotSteady] that names the requests and caches that kept it busy. A
// Manager whose Run has returned makes Steady return its error at once,
// and so does a World that has stopped.
//
// Replicas (Managers with candidates of the World's election, see
// [World.Elector]) stand by while another leads: the requests queued or
// waiting in their controllers do not keep Steady waiting, those they
// are still reconciling do. While no replica leads (a leadership change,
// a gap that Steady's Heal ends), every queue counts.
func (w *World) Steady() error {
	w.Heal()
	deadline := time.Now().Add(w.opts.SteadyTimeout)
	poll := firstPoll
	for {
		synctest.Wait()
		if err := w.exited(); err != nil {
			return err
		}
		s := w.survey()
		if s.steady() {
			return nil
		}
		now := time.Now()
		if !now.Before(deadline) {
			return fmt.Errorf("%w within %v of virtual time: %s", ErrNotSteady, w.opts.SteadyTimeout, s)
		}
		wake := deadline
		if !s.nextReady.IsZero() && s.nextReady.Before(wake) {
			wake = s.nextReady
		}
		polling := false
		if s.running > 0 || len(s.behind) > 0 {
			if at := now.Add(poll); at.Before(wake) {
				wake, polling = at, true
			}
		}
		for _, st := range s.lagging {
			st.requestProgress() // a cache whose selector skips the latest changes needs a bookmark
		}
		if s.waitUntil(wake) && polling {
			poll = min(2*poll, maxPoll) // nothing it can see moved: look less often
		} else {
			poll = firstPoll
		}
	}
}

// survey is what keeps a World busy at one moment.
type survey struct {
	pending   []string // "controller: request state", for the report
	running   int      // queued or being reconciled
	nextReady time.Time
	behind    []string // "cache x (v3) behind store y (v5)"
	lagging   []store
	advanced  []<-chan struct{} // the behind caches' advance channels
}

func (s *survey) steady() bool { return len(s.pending) == 0 && len(s.behind) == 0 }

func (s *survey) String() string {
	parts := append(append([]string(nil), s.pending...), s.behind...)
	return strings.Join(parts, "; ")
}

// waitUntil waits until wake, or until a behind cache advances; it
// reports whether it waited until wake.
func (s *survey) waitUntil(wake time.Time) (timedOut bool) {
	t := time.NewTimer(time.Until(wake))
	defer t.Stop()
	cases := []reflect.SelectCase{{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(t.C)}}
	for _, ch := range s.advanced {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
	}
	chosen, _, _ := reflect.Select(cases)
	return chosen == 0
}

// pendingController is a controller whose queue the World can read:
// *reconcile.Controller is one.
type pendingController interface {
	Name() string
	Pending() []workqueue.ItemInfo[string]
}

// namedCache is an informer, whatever its type.
type namedCache interface {
	informer.VersionedCache
	Name() string
	Versions() controlloop.VersionComparer
}

// exited returns an error if the World has stopped, or if a Manager it
// started has returned from Run before the World stopped it.
func (w *World) exited() error {
	w.mu.Lock()
	managers, stopped := w.managers, w.stopped
	w.mu.Unlock()
	if stopped {
		return errStopped
	}
	for i, r := range managers {
		select {
		case <-r.exited:
			return fmt.Errorf("reconciletest: manager %d stopped before the World did: %w", i, r.err)
		default:
		}
	}
	return nil
}

// errStopped is what Steady returns once the World has stopped.
var errStopped = errors.New("reconciletest: Steady: the World has stopped")

// survey looks at every controller and cache of the World's Managers.
func (w *World) survey() *survey {
	w.mu.Lock()
	managers := w.managers
	stores := w.stores
	candidates := w.candidates
	w.mu.Unlock()
	leader := w.election.Leader()
	s := &survey{}
	for _, r := range managers {
		name, replica := candidateName(candidates, r.m.LeaderElector)
		standby := replica && leader != "" && leader != otherName && leader != name
		for _, c := range r.m.Controllers() {
			pc, ok := c.(pendingController)
			if !ok {
				continue
			}
			for _, it := range pc.Pending() {
				if standby && it.State != workqueue.Processing {
					continue
				}
				s.pending = append(s.pending, describeItem(pc.Name(), it))
				if it.State == workqueue.Waiting {
					if !it.ReadyAt.IsZero() && (s.nextReady.IsZero() || it.ReadyAt.Before(s.nextReady)) {
						s.nextReady = it.ReadyAt
					}
					continue
				}
				s.running++
			}
		}
		for _, c := range caches(r.m.Caches()) {
			v := c.Versions()
			if v == nil {
				continue
			}
			for _, st := range stores {
				if st.scope() != v.VersionScope() {
					continue
				}
				applied, advanced := c.AppliedVersion()
				if !st.atLeast(applied) {
					at := "v" + applied
					if applied == "" {
						at = "not listed yet"
					}
					s.behind = append(s.behind, fmt.Sprintf("cache %s (%s) behind store %s (v%s)", c.Name(), at, st.storeName(), st.version()))
					s.lagging = append(s.lagging, st)
					s.advanced = append(s.advanced, advanced)
				}
			}
		}
	}
	return s
}

// candidateName returns the name of le if it is one of candidates. A
// user's elector may be of a type that cannot be a map key: it is none.
func candidateName(candidates map[reconcile.LeaderElector]string, le reconcile.LeaderElector) (string, bool) {
	if le == nil || !reflect.TypeOf(le).Comparable() {
		return "", false
	}
	name, ok := candidates[le]
	return name, ok
}

// caches returns the informers among rs, and those of the factories
// among them.
func caches(rs []reconcile.Runnable) []namedCache {
	var out []namedCache
	add := func(v any) {
		if c, ok := v.(namedCache); ok {
			out = append(out, c)
		}
	}
	for _, r := range rs {
		if f, ok := r.(interface {
			Informers() []informer.VersionedCache
		}); ok {
			for _, c := range f.Informers() {
				add(c)
			}
			continue
		}
		add(r)
	}
	return out
}

func describeItem(controller string, it workqueue.ItemInfo[string]) string {
	s := fmt.Sprintf("controller %s: %s %s", controller, it.Item, it.State)
	if it.State == workqueue.Waiting && !it.ReadyAt.IsZero() {
		s += fmt.Sprintf(" (due in %v)", roughly(time.Until(it.ReadyAt)))
	}
	if it.Requeues > 0 {
		s += fmt.Sprintf(" after %d retries", it.Requeues)
	}
	return s
}

// roughly rounds d for people: to 100ms from a second on, else to 1ms.
func roughly(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}
