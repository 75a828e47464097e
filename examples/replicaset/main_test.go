package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/controlloop/controlloop/inspect"
)

// startServing runs the command with args on a free loopback port and
// returns the base URL it serves at once the scenario has finished; stop
// interrupts it and returns run's error.
func startServing(t *testing.T, args ...string) (base string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"-metrics", "127.0.0.1:0"}, args...), pw)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	for lines.Scan() {
		if rest, ok := strings.CutPrefix(lines.Text(), "serving metrics at "); ok {
			base, _, _ = strings.Cut(rest, "/metrics")
			break
		}
	}
	if base == "" {
		cancel()
		t.Fatalf("the command never said where it serves (err %v)", <-done)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	return base, func() error { cancel(); return <-done }
}

// TestInspectFlag: with -inspect, the JSON next to /metrics lists both
// controllers with per-key state, the scenario's ReplicaSet among the keys
// with its last reconcile and why it ran.
func TestInspectFlag(t *testing.T) {
	base, stop := startServing(t, "-inspect")
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(base + "/debug/controlloop/api/v1/state?controller=replicaset&namespace=nsA")
	if err != nil {
		t.Fatal(err)
	}
	var state inspect.State
	err = json.NewDecoder(resp.Body).Decode(&state)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(state.Controllers) != 1 || !state.Controllers[0].Introspect {
		t.Fatalf("controllers = %+v, want replicaset, introspecting", state.Controllers)
	}
	var found bool
	for _, k := range state.Controllers[0].Keys {
		if k.Key == "nsA/rsA" && k.Last != nil && k.Last.Outcome == "success" && k.Last.Reason != "" {
			found = true
		}
	}
	if !found {
		t.Errorf("keys = %+v, want nsA/rsA with a successful last reconcile and its reason", state.Controllers[0].Keys)
	}
	if len(state.Caches) != 2 || !state.Caches[0].Synced {
		t.Errorf("caches = %+v, want two, synced", state.Caches)
	}
	resp, err = client.Get(base + "/debug/controlloop/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("the page = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if err := stop(); err != nil {
		t.Fatalf("run after interrupt = %v", err)
	}
}

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
	// The series, not their values: a reconcile the scenario's last write
	// triggered may still be running while the page is scraped.
	for _, want := range []string{
		`controller_runtime_reconcile_total{controller="replicaset",result="success"} `,
		`controller_runtime_active_workers{controller="node-agent"} `,
		`workqueue_adds_total{name="replicaset"} `,
		`workqueue_depth{name="node-agent"} `,
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
	for _, args := range [][]string{{"-replicas", "0"}, {"-workers", "-1"}, {"-nope"}, {"-inspect"}} {
		if err := run(context.Background(), args, io.Discard); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}
