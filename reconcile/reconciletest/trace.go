package reconciletest

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/reconcile"
)

// trace keeps the latest entries of what happened in a World: events the
// watches delivered, writes, reconciles, faults, the steps of a schedule
// and the library's warnings. It is a ring: the oldest go first.
type trace struct {
	start time.Time

	mu      sync.Mutex // protects the fields below
	entries []entry    // a ring of cap entries; next is the oldest once full
	next    int
	total   int // entries ever added
}

type entry struct {
	at   time.Duration // virtual time since the World was made
	text string
}

func newTrace(size int, start time.Time) *trace {
	return &trace{start: start, entries: make([]entry, 0, size)}
}

// add appends one entry.
func (t *trace) add(format string, args ...any) {
	e := entry{at: time.Since(t.start), text: fmt.Sprintf(format, args...)}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.total++
	if len(t.entries) < cap(t.entries) {
		t.entries = append(t.entries, e)
		return
	}
	if cap(t.entries) == 0 {
		return
	}
	t.entries[t.next] = e
	t.next = (t.next + 1) % len(t.entries)
}

// String returns the entries kept, oldest first, one a line, each with its
// virtual time.
func (t *trace) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var b strings.Builder
	if dropped := t.total - len(t.entries); dropped > 0 {
		fmt.Fprintf(&b, "  (%d earlier entries dropped; Options.TraceLen keeps more)\n", dropped)
	}
	for i := range t.entries {
		e := t.entries[(t.next+i)%len(t.entries)]
		fmt.Fprintf(&b, "  %10s  %s\n", e.at.Round(time.Microsecond), e.text)
	}
	return b.String()
}

// tracer is the World's reconcile.Tracer: it records each reconcile's
// start and end. Writes are recorded by the Clients.
type tracer struct{ t *trace }

var _ reconcile.Tracer = tracer{}

func (tr tracer) StartReconcile(ctx context.Context, span reconcile.ReconcileSpan) (context.Context, func(reconcile.ReconcileEnd)) {
	tr.t.add("reconcile %s %s (%s, retries %d)", span.Controller, span.Request, span.Reason, span.Retries)
	return ctx, func(end reconcile.ReconcileEnd) {
		if end.Err != nil {
			tr.t.add("reconciled %s %s: %s: %v", span.Controller, span.Request, end.Outcome, end.Err)
			return
		}
		tr.t.add("reconciled %s %s: %s", span.Controller, span.Request, end.Outcome)
	}
}

func (tracer) StartWrite(ctx context.Context, _ string, _ controlloop.Key) (context.Context, func(error)) {
	return ctx, func(error) {}
}

// traceHandler is a slog.Handler that records warnings and errors in a
// trace.
type traceHandler struct {
	t     *trace
	attrs string // the logger's attributes, spelt
}

func newTraceHandler(t *trace) *traceHandler { return &traceHandler{t: t} }

func (h *traceHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (h *traceHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(h.attrs)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s", a)
		return true
	})
	h.t.add("log %s: %s%s", r.Level, r.Message, b.String())
	return nil
}

func (h *traceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	var b strings.Builder
	b.WriteString(h.attrs)
	for _, a := range attrs {
		fmt.Fprintf(&b, " %s", a)
	}
	return &traceHandler{t: h.t, attrs: b.String()}
}

func (h *traceHandler) WithGroup(string) slog.Handler { return h }
