package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestREADMEShowsThisProgram keeps the README's quick start the program
// that CI runs: the Go block under "## Quick start" is this file, byte for
// byte (issue 11: the README's quick start did not compile).
func TestREADMEShowsThisProgram(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	program, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Quick start\n")
	if !ok {
		t.Fatal(`README.md has no "## Quick start" section`)
	}
	_, block, ok := strings.Cut(section, "\n```go\n")
	if !ok {
		t.Fatal("the quick start section has no ```go block")
	}
	block, _, ok = strings.Cut(block, "\n```\n")
	if !ok {
		t.Fatal("the quick start's ```go block is not closed")
	}
	if block+"\n" != string(program) {
		t.Fatalf("README.md's quick start differs from examples/quickstart/main.go: copy main.go into the block\n--- README\n%s\n--- main.go\n%s", block, program)
	}
}

// TestQuickstartRuns runs the program as the README does and checks that
// it reaches its end: three Pods created for default/web.
func TestQuickstartRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the program")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "go", "run", ".")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go run: %v\n%s%s", err, out, stderr.Bytes())
	}
	want := "pod default/web-0 created\npod default/web-1 created\npod default/web-2 created\n3 pods for default/web\n"
	if !bytes.Equal(out, []byte(want)) {
		t.Fatalf("output:\n%s\nwant:\n%s", out, want)
	}
}
