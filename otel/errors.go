package otel

import (
	"fmt"

	"github.com/controlloop/controlloop"
)

var errNilTracer = fmt.Errorf("otel: NewTracer: nil trace.Tracer: %w", controlloop.ErrInvalid)
