package controller

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Tracer prints the example's trace: one line per event, reconcile and
// decision, stamped with the time since the tracer started. A nil *Tracer
// prints nothing.
type Tracer struct {
	mu    sync.Mutex // protects out
	out   io.Writer
	start time.Time
}

// NewTracer returns a tracer that writes to out.
func NewTracer(out io.Writer) *Tracer { return &Tracer{out: out, start: time.Now()} }

// Printf prints one trace line.
func (t *Tracer) Printf(format string, args ...any) {
	if t == nil {
		return
	}
	msg := fmt.Sprintf(format, args...)
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.out, "[%8.1fms] %s\n", float64(time.Since(t.start).Microseconds())/1000, msg)
}

// SharedOutput returns w made safe for several goroutines to write to at
// once, such as the trace (written by the controllers' workers) and the
// scenario's report. Give the result to both.
func SharedOutput(w io.Writer) io.Writer { return &lockedWriter{w: w} }

type lockedWriter struct {
	mu sync.Mutex // protects w
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
