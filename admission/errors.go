package admission

import (
	"fmt"

	"github.com/controlloop/controlloop"
)

// errZeroClient is what every method of a zero Client returns.
var errZeroClient = fmt.Errorf("admission: Client has no backend (make one with Wrap): %w", controlloop.ErrInvalid)

// invalid reports that what, whose value is value, breaks rule: an error
// wrapping [controlloop.ErrInvalid] such as
// "admission: Options.Mutators[0] is nil: must not be nil: controlloop: invalid".
func invalid(what string, value any, rule string) error {
	return fmt.Errorf("admission: %s is %v: %s: %w", what, value, rule, controlloop.ErrInvalid)
}
