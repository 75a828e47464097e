package sourcetest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/controlloop/controlloop"
)

// Run checks every rule of the contract against the backends opts.New
// makes, each rule as a subtest of t named for it (see the package doc's
// list), so that -run selects rules. It fails t at once if opts is invalid.
func Run[T controlloop.Object](t *testing.T, opts Options[T]) {
	t.Helper()
	s, err := newSuite(opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range s.rules() {
		t.Run(r.name, func(t *testing.T) { r.check(t) })
	}
}

// Check is [Run] outside a test: it checks every rule in turn and returns
// their failures joined with [errors.Join], each wrapping
// [ErrNotConformant] and naming its rule, or nil if the backend conforms.
// Invalid options are an error wrapping [controlloop.ErrInvalid].
func Check[T controlloop.Object](opts Options[T]) error {
	s, err := newSuite(opts)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range s.rules() {
		c := &checker{}
		done := make(chan struct{})
		go func() {
			defer close(done)
			r.check(c)
		}()
		<-done
		if msgs := c.failures(); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("sourcetest: %s: %w:\n\t%s", r.name, ErrNotConformant, strings.Join(msgs, "\n\t")))
		}
	}
	return errors.Join(errs...)
}

// tb is what a rule reports to: the subtest's *testing.T under Run, a
// checker under Check. Fatalf ends the rule's goroutine.
type tb interface {
	Helper()
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// checker collects the failures of one rule run by Check.
type checker struct {
	mu   sync.Mutex // protects msgs
	msgs []string
}

func (c *checker) Helper()                   {}
func (c *checker) Logf(string, ...any)       {}
func (c *checker) Errorf(f string, a ...any) { c.add(fmt.Sprintf(f, a...)) }

func (c *checker) Fatalf(f string, a ...any) {
	c.add(fmt.Sprintf(f, a...))
	runtime.Goexit()
}

func (c *checker) add(msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, msg)
}

func (c *checker) failures() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.msgs
}

// rule is one rule of the contract, checked against a new backend.
type rule struct {
	name  string
	check func(t tb)
}

// suite is the rules of one run, with the options they read.
type suite[T controlloop.Object] struct {
	opts Options[T]
}

func newSuite[T controlloop.Object](opts Options[T]) (*suite[T], error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	return &suite[T]{opts: opts.withDefaults()}, nil
}

// rules returns the rules to check, in the order of the package doc.
func (s *suite[T]) rules() []rule {
	rs := []rule{
		{"Create", s.checkCreate},
		{"Get", s.checkGet},
		{"Update", s.checkUpdate},
		{"UpdateStatus", s.checkUpdateStatus},
		{"Delete", s.checkDelete},
		{"CancelledContext", s.checkCancelled},
		{"ListOrder", s.checkListOrder},
		{"ListSelectors", s.checkListSelectors},
		{"ListPages", s.checkListPages},
		{"ListPagesConsistent", s.checkListPagesConsistent},
		{"ListBadInput", s.checkListBadInput},
		{"WatchFromList", s.checkWatchFromList},
		{"WatchFromNow", s.checkWatchFromNow},
		{"WatchResume", s.checkWatchResume},
		{"WatchSelectors", s.checkWatchSelectors},
		{"WatchBadInput", s.checkWatchBadInput},
		{"WatchEndsWithContext", s.checkWatchEnds},
		{"NoBookmarksUnasked", s.checkNoBookmarksUnasked},
		{"RoundTrip", s.checkRoundTrip},
		{"Model", s.checkModel},
	}
	if s.opts.Compact != nil {
		rs = append(rs,
			rule{"ListExpired", s.checkListExpired},
			rule{"WatchExpired", s.checkWatchExpired},
		)
	}
	if s.opts.Progress != nil {
		rs = append(rs,
			rule{"Bookmarks", s.checkBookmarks},
			rule{"BookmarksDuringReplay", s.checkBookmarksDuringReplay},
		)
	}
	return rs
}

// env is one rule's backend and context.
type env[T controlloop.Object] struct {
	t   tb
	s   *suite[T]
	b   Backend[T]
	ctx context.Context
}

// start makes a new backend for a rule; the context ends with the rule
// (cancel it with the returned function, which the rule defers).
func (s *suite[T]) start(t tb) (*env[T], context.CancelFunc) {
	t.Helper()
	b, err := s.opts.New()
	if err != nil {
		t.Fatalf("Options.New: %v", err)
	}
	if isNil(b) {
		t.Fatalf("Options.New returned a nil backend")
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
	return &env[T]{t: t, s: s, b: b, ctx: ctx}, cancel
}
