package shard

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/controlloop/controlloop"
)

func TestNewRefusesBadOptions(t *testing.T) {
	mem, err := NewMemory(MemoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		coord Coordinator
		opts  Options
		want  string
	}{
		{"no coordinator", nil, Options{Ring: "r", ID: "a"}, "shard: Coordinator is nil: required"},
		{"no ring", mem, Options{ID: "a"}, `shard: Options.Ring is "": required`},
		{"no ID", mem, Options{Ring: "r"}, `shard: Options.ID is "": required`},
		{"negative slots", mem, Options{Ring: "r", ID: "a", Slots: -1}, "shard: Options.Slots is -1: must not be negative"},
		{"negative window", mem, Options{Ring: "r", ID: "a", Window: -1}, "shard: Options.Window is -1ns: must not be negative"},
		{"negative handoffs", mem, Options{Ring: "r", ID: "a", MaxHandoffs: -1}, "shard: Options.MaxHandoffs is -1: must not be negative"},
		{"negative drain", mem, Options{Ring: "r", ID: "a", DrainTimeout: -1}, "shard: Options.DrainTimeout is -1ns: must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.coord, tc.opts)
			if !errors.Is(err, controlloop.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: %v; want ErrInvalid with %q", err, tc.want)
			}
		})
	}
	if _, err := NewMemory(MemoryOptions{TTL: -1}); !errors.Is(err, controlloop.ErrInvalid) {
		t.Errorf("NewMemory with a negative TTL: %v", err)
	}
}

func TestJoinRefusesOtherSlotCountAndLiveID(t *testing.T) {
	mem, _ := NewMemory(MemoryOptions{})
	ctx := t.Context()
	s, err := mem.Join(ctx, "r", "a", 16)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mem.Join(ctx, "r", "b", 32); !errors.Is(err, controlloop.ErrInvalid) {
		t.Errorf("Join with another slot count: %v, want ErrInvalid", err)
	}
	if _, err := mem.Join(ctx, "r", "a", 16); !errors.Is(err, ErrMemberInUse) {
		t.Errorf("Join with a live ID: %v, want ErrMemberInUse", err)
	}
	s.Close(ctx)
	s2, err := mem.Join(ctx, "r", "a", 16)
	if err != nil {
		t.Errorf("Join after Close with the same ID: %v", err)
	} else {
		s2.Close(ctx)
	}
}

func TestRunOnce(t *testing.T) {
	mem, _ := NewMemory(MemoryOptions{})
	m, err := New(mem, Options{Ring: "r", ID: "a", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := m.Run(ctx); err != nil {
		t.Errorf("Run with its context ended: %v, want nil", err)
	}
	if err := m.Run(t.Context()); !errors.Is(err, controlloop.ErrAlreadyStarted) {
		t.Errorf("second Run: %v, want ErrAlreadyStarted", err)
	}
}
