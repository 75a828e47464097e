package shard

import (
	"errors"
	"fmt"

	"github.com/controlloop/controlloop"
)

var (
	// ErrClaimed means a slot could not be claimed: another session holds
	// it.
	ErrClaimed = errors.New("shard: slot already claimed")
	// ErrFenced means a write made under a slot's claim was refused because
	// the claim is no longer current: the slot has moved (or is moving) to
	// another member, or the claim has ended. The reconcile that made the
	// write must stop; its slot counts as lost.
	ErrFenced = errors.New("shard: write fenced: the slot's claim is no longer current")
	// ErrMemberInUse means a member ID is already registered under a live
	// session, so a second session cannot join with it.
	ErrMemberInUse = errors.New("shard: member ID in use by a live session")
)

// invalid reports that field, whose value is value, breaks rule: an error
// wrapping [controlloop.ErrInvalid] such as
// "shard: Options.Slots is -1: must not be negative: controlloop: invalid".
func invalid(field string, value any, rule string) error {
	return fmt.Errorf("shard: %s is %v: %s: %w", field, value, rule, controlloop.ErrInvalid)
}
