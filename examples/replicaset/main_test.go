package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestMetricsFlag runs the command with -metrics on a free loopback port,
// scrapes /metrics once the scenario has finished, and stops it as an
// interrupt would.
func TestMetricsFlag(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-metrics", "127.0.0.1:0"}, pw)
		pw.Close()
	}()

	var url string
	lines := bufio.NewScanner(pr)
	for lines.Scan() {
		if rest, ok := strings.CutPrefix(lines.Text(), "serving metrics at "); ok {
			url, _, _ = strings.Cut(rest, ";")
			break
		}
	}
	if url == "" {
		t.Fatalf("the command never said where it serves metrics (err %v)", <-done)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()

	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`controller_runtime_reconcile_total{controller="replicaset",result="success"}`,
		`controller_runtime_active_workers{controller="node-agent"} 0`,
		`workqueue_adds_total{name="replicaset"}`,
		`workqueue_depth{name="node-agent"} 0`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run after interrupt = %v", err)
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-replicas", "0"}, {"-workers", "-1"}, {"-nope"}} {
		if err := run(context.Background(), args, io.Discard); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}
