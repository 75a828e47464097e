package reconciletest_test

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/controlloop/controlloop/reconcile/reconciletest"
)

// recorder is a rapid.TB that keeps what rapid reports instead of failing
// the test: a property that must fail runs against it.
type recorder struct {
	name string

	mu     sync.Mutex // protects the fields below
	failed bool
	out    strings.Builder
}

func (r *recorder) Helper()      {}
func (r *recorder) Name() string { return r.name }
func (r *recorder) Logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(&r.out, format+"\n", args...)
}
func (r *recorder) Log(args ...any)                   { r.Logf("%s", fmt.Sprint(args...)) }
func (r *recorder) Skipf(format string, args ...any)  { r.Logf(format, args...) }
func (r *recorder) Skip(args ...any)                  { r.Log(args...) }
func (r *recorder) SkipNow()                          {}
func (r *recorder) Errorf(format string, args ...any) { r.Logf(format, args...); r.Fail() }
func (r *recorder) Error(args ...any)                 { r.Log(args...); r.Fail() }
func (r *recorder) Fatalf(format string, args ...any) { r.Errorf(format, args...) }
func (r *recorder) Fatal(args ...any)                 { r.Error(args...) }
func (r *recorder) FailNow()                          { r.Fail() }
func (r *recorder) Fail() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = true
}
func (r *recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.out.String()
}

// withRapidFlags sets rapid's flags for the rest of the test: a fixed
// seed and number of schedules make the search repeatable; no fail file
// is written for a failure the test expects.
func withRapidFlags(t *testing.T, flags map[string]string) {
	for name, v := range flags {
		old := flag.Lookup(name).Value.String()
		if err := flag.Set(name, v); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = flag.Set(name, old) })
	}
}

// TestPlantedBugsAreFound: each bug planted in the parent controller is
// found within 100 schedules from a fixed seed, and the report names the
// failing invariant and the schedule.
func TestPlantedBugsAreFound(t *testing.T) {
	for _, tc := range []struct {
		name string
		bug  bug
		want string // the invariant that fails
	}{
		{"forgetsDeletes", forgetsDeletes, "Invariant"},
		{"staleCache", staleCache, "Always"},
		{"retriesConflicts", retriesConflicts, "Always"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			withRapidFlags(t, map[string]string{
				"rapid.seed": "1", "rapid.checks": "100", "rapid.nofailfile": "true", "rapid.shrinktime": "10s",
			})
			rec := &recorder{name: t.Name()}
			reconciletest.CheckTB(t, rec, property(tc.bug))
			report := rec.String()
			if !rec.Failed() {
				t.Fatalf("the planted bug was not found in 100 schedules:\n%s", report)
			}
			if !strings.Contains(report, "reconciletest: "+tc.want) {
				t.Fatalf("the report does not say that %s failed:\n%s", tc.want, report)
			}
			t.Logf("found:\n%s", report)
		})
	}
}

// TestCheckFailsItsTest runs Check itself, as a user's test does (each
// schedule in a bubble of its own), on a planted bug: the test it runs in
// fails, and its output holds the report. The inner test's output is
// captured, so that its failure does not read as this test's.
func TestCheckFailsItsTest(t *testing.T) {
	withRapidFlags(t, map[string]string{
		"rapid.seed": "1", "rapid.checks": "100", "rapid.nofailfile": "true", "rapid.shrinktime": "10s",
	})
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	captured := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		captured <- string(b)
	}()
	stdout := os.Stdout
	os.Stdout = w
	passed := asTest("TestRetriesConflicts", func(t *testing.T) { reconciletest.Check(t, property(retriesConflicts)) })
	os.Stdout = stdout
	w.Close()
	out := <-captured
	if passed {
		t.Fatalf("Check passed its test on a planted bug:\n%s", out)
	}
	for _, want := range []string{"--- FAIL: TestRetriesConflicts", "reconciletest: Always failed", "schedule (the steps drawn):", "replay:"} {
		if !strings.Contains(out, want) {
			t.Errorf("the failed test's output lacks %q:\n%s", want, out)
		}
	}
}
