package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"testing/synctest"
)

// TestRun runs the command as `go run ./examples/deployment` does, in a
// synctest bubble (its Pods take 200ms to start, in virtual time): it
// succeeds, and prints both rollouts step by step and the final state.
func TestRun(t *testing.T) {
	for _, args := range [][]string{nil, {"-replicas", "5", "-max-surge", "2", "-max-unavailable", "1", "-workers", "2", "-trace"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var out bytes.Buffer
				if err := run(context.Background(), args, &out); err != nil {
					t.Fatalf("run(%q) = %v\n%s", args, err, out.String())
				}
				report := out.String()
				for _, want := range []string{
					"create Deployment nsA/web", "roll out nginx:1.28: ReplicaSet web-", "roll back to nginx:1.27: ReplicaSet web-",
					"  step 2: old ", "\nfinal state\n", "nginx:1.27, Running, owned by ReplicaSet web-",
				} {
					if !strings.Contains(report, want) {
						t.Errorf("the output lacks %q:\n%s", want, report)
					}
				}
				if traced := strings.Contains(report, "reconcile Deployment nsA/web"); traced != (args != nil) {
					t.Errorf("trace printed: %v, want %v", traced, args != nil)
				}
			})
		})
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-replicas", "0"}, {"-workers", "0"}, {"-max-surge", "-1"}, {"-max-surge", "0", "-max-unavailable", "0"},
		{"-ready-delay", "-1s"}, {"-nope"},
	} {
		if err := run(context.Background(), args, io.Discard); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}
