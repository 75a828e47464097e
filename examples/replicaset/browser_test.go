//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/examples/replicaset/controller"
	"github.com/controlloop/controlloop/inspect"
	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// screenshotPath is where TestInspectPageInBrowser saves what the browser
// rendered: CI keeps it as an artifact.
const screenshotPath = "/tmp/controlloop-artifacts/inspect.png"

// troubledPods is the example's Pod store with two kinds of trouble: Pods
// cannot be created in namespace "broken" (so its ReplicaSet fails and
// retries), and starting a Pod in namespace "slow" hangs until the
// reconcile's context ends (so the node agent's other Pods stay queued).
type troubledPods struct {
	*memstore.Store[*controller.Pod]
}

func (p troubledPods) Create(ctx context.Context, pod *controller.Pod) (*controller.Pod, error) {
	if pod.Namespace == "broken" {
		return nil, errors.New("quota exceeded in namespace broken")
	}
	return p.Store.Create(ctx, pod)
}

func (p troubledPods) UpdateStatus(ctx context.Context, pod *controller.Pod) (*controller.Pod, error) {
	if pod.Namespace == "slow" {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return p.Store.UpdateStatus(ctx, pod)
}

// chromium returns the headless browser's path; it skips the test outside
// CI when there is none, and fails it in CI.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium not found, and CI is set: install Debian's chromium package (.ci/run does)")
	}
	t.Skip("chromium not found: install Debian's chromium package to run the browser test (CI does)")
	return ""
}

// browse runs headless chromium on url with args (--dump-dom,
// --screenshot=...) and returns its standard output.
func browse(t *testing.T, browser, url string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	all := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
		"--window-size=1400,1000",
		// Run the page's script and its first fetches before the dump.
		"--virtual-time-budget=5000",
	}, args...)
	cmd := chromiumCommand(t, ctx, browser, append(all, url)...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return out.String()
}

var keyRow = regexp.MustCompile(`<tr class="key state-[a-z]+" data-key="([^"]+)" data-state="([a-z]+)">(.*?)</tr>`)

// rows returns the key rows of a dumped DOM: key -> state, and key -> the
// row's HTML.
func rows(dom string) (states, html map[string]string) {
	states, html = map[string]string{}, map[string]string{}
	for _, m := range keyRow.FindAllStringSubmatch(dom, -1) {
		states[m[1]], html[m[1]] = m[2], m[3]
	}
	return states, html
}

// TestInspectPageInBrowser runs the example's system, with a ReplicaSet
// whose Pods cannot be created and one whose Pods hang as they start,
// serves its inspect page as -inspect does, and loads it in headless
// Chromium: a queued key appears, the failing key shows its error, and the
// state, error and namespace filters select what they should. The
// screenshot is saved at screenshotPath.
func TestInspectPageInBrowser(t *testing.T) {
	browser := chromium(t)
	reg := prometheus.NewRegistry()
	m, err := metrics.NewControllerProvider(reg)
	if err != nil {
		t.Fatal(err)
	}
	rsStore, err := memstore.New[*controller.ReplicaSet](memstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	podStore, err := memstore.New[*controller.Pod](memstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sys, err := controller.New(controller.Backend{ReplicaSets: rsStore, Pods: troubledPods{podStore}}, controller.Options{
		Workers: 1, Metrics: m, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Introspect: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sys.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	}()
	for _, rs := range []struct {
		key      controlloop.Key
		replicas int
	}{{controlloop.Key{Namespace: "slow", Name: "web"}, 3}, {controlloop.Key{Namespace: "broken", Name: "api"}, 1}} {
		labels := map[string]string{"app": rs.key.Name}
		if _, err := sys.ReplicaSets.Create(ctx, &controller.ReplicaSet{
			ObjectMeta: controlloop.ObjectMeta{Namespace: rs.key.Namespace, Name: rs.key.Name},
			Spec:       controller.ReplicaSetSpec{Replicas: &rs.replicas, Selector: labels, Template: controller.PodTemplate{Labels: labels, Image: "nginx"}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	page, err := sys.Inspector()
	if err != nil {
		t.Fatal(err)
	}
	// Wait until the trouble shows in the state the page reads: a Pod
	// queued behind the hanging one, and the broken ReplicaSet's error.
	deadline := time.Now().Add(30 * time.Second)
	for !troubleShows(page.State(inspect.Filter{})) {
		if time.Now().After(deadline) {
			t.Fatalf("the state never showed a queued Pod and a failing ReplicaSet: %+v", page.State(inspect.Filter{}))
		}
		time.Sleep(20 * time.Millisecond)
	}
	srv := httptest.NewServer(newMux(reg, page))
	defer srv.Close()
	url := srv.URL + inspectPath

	states, html := rows(browse(t, browser, url, "--dump-dom"))
	if states["slow/web-1"] != "queued" && states["slow/web-2"] != "queued" {
		t.Errorf("no queued Pod on the page; rows: %v", states)
	}
	if !strings.Contains(html["broken/api"], `<td class="error">create pod broken/api-0: quota exceeded in namespace broken</td>`) {
		t.Errorf("broken/api's row shows no error: %q (rows %v)", html["broken/api"], states)
	}
	for _, tt := range []struct {
		query string
		ok    func(key, state string) bool
		want  string // a key that must be there
	}{
		{"?state=queued", func(_, s string) bool { return s == "queued" }, ""},
		{"?error=true", func(k, _ string) bool { return k == "broken/api" }, "broken/api"},
		{"?namespace=broken", func(k, _ string) bool { return strings.HasPrefix(k, "broken/") }, "broken/api"},
	} {
		states, _ := rows(browse(t, browser, url+tt.query, "--dump-dom"))
		if len(states) == 0 {
			t.Errorf("%s: no rows", tt.query)
		}
		for k, s := range states {
			if !tt.ok(k, s) {
				t.Errorf("%s: the page shows %s (%s), which the filter excludes", tt.query, k, s)
			}
		}
		if _, ok := states[tt.want]; tt.want != "" && !ok {
			t.Errorf("%s: %s missing; rows %v", tt.query, tt.want, states)
		}
	}

	checkInteractiveFilters(t, openDevTools(t, browser, url), url)

	if err := os.MkdirAll(filepath.Dir(screenshotPath), 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(screenshotPath)
	browse(t, browser, url, "--screenshot="+screenshotPath, "--hide-scrollbars")
	png, err := os.ReadFile(screenshotPath)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("no screenshot at %s (%v)", screenshotPath, err)
	}
	t.Logf("screenshot: %s (%d bytes)", screenshotPath, len(png))
}

func troubleShows(s inspect.State) bool {
	var queued, failing bool
	for _, c := range s.Controllers {
		for _, k := range c.Keys {
			queued = queued || c.Name == "node-agent" && k.State == "queued" && k.Namespace == "slow"
			failing = failing || k.Key == "broken/api" && k.Last != nil && k.Last.Error != ""
		}
	}
	return queued && failing
}

// filterScript drives the page's form as a user would: it waits for the
// first rows, then sets each filter, fires the form's input event, waits
// for the next refreshes, and reports the rows and the URL's query.
const filterScript = `(async () => {
  const wait = (ms) => new Promise(r => setTimeout(r, ms));
  const rows = () => [...document.querySelectorAll("tr.key")].map(r => r.dataset.key + " " + r.dataset.state);
  for (let i = 0; i < 100 && document.querySelectorAll("tr.key").length === 0; i++) await wait(100);
  const form = document.getElementById("filters");
  const set = async (state, failing, ns) => {
    document.getElementById("state").value = state;
    document.getElementById("error").checked = failing;
    document.getElementById("namespace").value = ns;
    form.dispatchEvent(new Event("input"));
    await wait(2500);
    return {rows: rows(), query: location.search,
      errors: [...document.querySelectorAll("tr.key td.error")].map(td => td.textContent).filter(s => s)};
  };
  const out = {};
  out.all = await set("", false, "");
  out.queued = await set("queued", false, "");
  out.failing = await set("", true, "");
  out.broken = await set("", false, "broken");
  return JSON.stringify(out);
})()`

// checkInteractiveFilters changes the page's filters through its form, in
// the browser, and checks the rows it then shows and the URL it keeps.
func checkInteractiveFilters(t *testing.T, d *devTools, url string) {
	t.Helper()
	type view struct {
		Rows   []string
		Query  string
		Errors []string
	}
	var got map[string]view
	if err := json.Unmarshal([]byte(d.evaluate(t, url, filterScript)), &got); err != nil {
		t.Fatalf("the filter script's result: %v", err)
	}
	checks := []struct {
		name, query string
		ok          func(row string) bool
	}{
		{"all", "", func(string) bool { return true }},
		{"queued", "?state=queued", func(r string) bool { return strings.HasSuffix(r, " queued") }},
		{"failing", "?error=true", func(r string) bool { return strings.HasPrefix(r, "broken/api ") }},
		{"broken", "?namespace=broken", func(r string) bool { return strings.HasPrefix(r, "broken/") }},
	}
	for _, c := range checks {
		v := got[c.name]
		if len(v.Rows) == 0 || v.Query != c.query {
			t.Errorf("form filter %s: rows %v, URL query %q (want some rows, and %q)", c.name, v.Rows, v.Query, c.query)
		}
		for _, r := range v.Rows {
			if !c.ok(r) {
				t.Errorf("form filter %s: the page shows %s, which the filter excludes", c.name, r)
			}
		}
	}
	if errs := got["failing"].Errors; len(errs) == 0 || !strings.Contains(errs[0], "quota exceeded") {
		t.Errorf("failing filter: errors shown %q, want broken/api's", errs)
	}
}
