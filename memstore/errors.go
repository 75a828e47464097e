package memstore

import (
	"fmt"

	"github.com/controlloop/controlloop"
)

// invalid reports that what, whose value is value, breaks rule: an error
// wrapping [controlloop.ErrInvalid] such as
// "memstore: Options.HistorySize is -1: must not be negative: controlloop: invalid".
func invalid(what string, value any, rule string) error {
	return fmt.Errorf("memstore: %s is %v: %s: %w", what, value, rule, controlloop.ErrInvalid)
}
