package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestRun plays the example on an embedded etcd with three replicas: it
// must report the slots shared out, a kill and a clean leave, each with
// the slots that moved (only the lost replica's) and convergence.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out strings.Builder
	if err := run(ctx, []string{"-replicas", "3", "-replicasets", "30", "-ttl", "2s", "-window", "500ms"}, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{
		"3 replicas share 1024 slots",
		"kill replica-1: slots moved {replica-1 -> replica-0: ",
		"stop replica-2 (a clean leave): slots moved {replica-2 -> replica-0: ",
		"all 30 ReplicaSets at 7 replicas",
		"done",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	for _, line := range strings.Split(got, "\n") {
		if strings.HasPrefix(line, "kill replica-1") && strings.Contains(line, "replica-2 ->") {
			t.Errorf("a kill of replica-1 moved another replica's slots: %s", line)
		}
	}
	t.Log(got)
}
