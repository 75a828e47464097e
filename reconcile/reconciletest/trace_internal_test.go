package reconciletest

import (
	"strings"
	"testing"
	"time"
)

// TestTraceKeepsTheLatest: the trace keeps the latest entries, oldest
// first, and says how many it dropped.
func TestTraceKeepsTheLatest(t *testing.T) {
	tr := newTrace(3, time.Now())
	for i := range 5 {
		tr.add("entry %d", i)
	}
	got := tr.String()
	if !strings.Contains(got, "(2 earlier entries dropped") {
		t.Errorf("the trace does not say it dropped 2 entries:\n%s", got)
	}
	if i2, i4 := strings.Index(got, "entry 2"), strings.Index(got, "entry 4"); i2 < 0 || i4 < i2 || strings.Contains(got, "entry 1") {
		t.Errorf("the trace does not hold entries 2 to 4, oldest first:\n%s", got)
	}
	if got := newTrace(0, time.Now()); got.String() != "" {
		t.Errorf("an empty trace spells %q", got.String())
	}
}
