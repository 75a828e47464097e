package shard

import (
	"context"
	"errors"
	"iter"
	"log/slog"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/prometheus/client_golang/prometheus"
)

// Options configure a [Member].
type Options struct {
	// Ring names the ring: the controller whose work its members share.
	// Required.
	Ring string
	// ID is this member's ID, stable across restarts: a replica that
	// stopped cleanly (its session closed) and restarts with its ID within
	// Window takes its own slots back and moves nothing. After a crash the
	// ID is free again only once the old lease has expired. Required.
	ID string
	// Slots is the number of slots keys hash to; every member of a ring
	// must agree on it (the coordinator stores it once). Defaults to 1024.
	Slots int
	// KeyFunc maps a request to its shard key, the string that picks its
	// slot: map a child object to its parent so that they share one slot.
	// Defaults to the key's String.
	KeyFunc func(controlloop.Key) string
	// Window is how long the member set must stay unchanged before a
	// member acts on it, claiming or handing off slots: churn within the
	// window moves nothing. It must not be negative. Defaults to 3 seconds.
	Window time.Duration
	// MaxHandoffs caps the slots this member drains at once. Defaults to
	// 64.
	MaxHandoffs int
	// DrainTimeout bounds how long a handoff waits for the slot's
	// reconciles in flight before it releases the claim anyway (their
	// writes are then fenced): set it to the controller's reconcile
	// timeout. It must not be negative. Defaults to 30 seconds.
	DrainTimeout time.Duration
	// Fresh, if set, waits until the cache the reconciles read has seen
	// the coordinator's revision (for etcd: an informer over the same
	// cluster whose LastSyncResourceVersion has reached it); a member waits
	// for it before it works a slot it has just claimed. Defaults to nil:
	// no wait, for caches not ordered with the coordinator.
	Fresh func(ctx context.Context, revision int64) error
	// Keys, if set, walks the keys in the cache (each time it is ranged
	// over), so that the keys of a slot just claimed are enqueued at once
	// rather than at the next resync: [KeysOf](informer.Reader().All()).
	// Defaults to nil.
	Keys iter.Seq[controlloop.Key]
	// Registerer, if set, receives the member's metrics (see the package
	// doc), labelled with ring and member. Defaults to nil: none.
	Registerer prometheus.Registerer
	// Logger receives the member's logs. Defaults to slog.Default().
	Logger *slog.Logger
}

const (
	defaultSlots        = 1024
	defaultWindow       = 3 * time.Second
	defaultMaxHandoffs  = 64
	defaultDrainTimeout = 30 * time.Second
)

func (o *Options) validate() error {
	var errs []error
	bad := func(field string, v any, rule string) { errs = append(errs, invalid("Options."+field, v, rule)) }
	if o.Ring == "" {
		bad("Ring", `""`, "required")
	}
	if o.ID == "" {
		bad("ID", `""`, "required")
	}
	if o.Slots < 0 {
		bad("Slots", o.Slots, "must not be negative")
	}
	if o.Window < 0 {
		bad("Window", o.Window, "must not be negative")
	}
	if o.MaxHandoffs < 0 {
		bad("MaxHandoffs", o.MaxHandoffs, "must not be negative")
	}
	if o.DrainTimeout < 0 {
		bad("DrainTimeout", o.DrainTimeout, "must not be negative")
	}
	return errors.Join(errs...)
}

func (o *Options) setDefaults() {
	if o.Slots == 0 {
		o.Slots = defaultSlots
	}
	if o.KeyFunc == nil {
		o.KeyFunc = controlloop.Key.String
	}
	if o.Window == 0 {
		o.Window = defaultWindow
	}
	if o.MaxHandoffs == 0 {
		o.MaxHandoffs = defaultMaxHandoffs
	}
	if o.DrainTimeout == 0 {
		o.DrainTimeout = defaultDrainTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// KeysOf returns the keys of a cache walk, such as an informer Reader's
// All, for Options.Keys.
func KeysOf[T any](all iter.Seq2[controlloop.Key, T]) iter.Seq[controlloop.Key] {
	return func(yield func(controlloop.Key) bool) {
		for k := range all {
			if !yield(k) {
				return
			}
		}
	}
}
