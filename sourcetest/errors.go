package sourcetest

import (
	"errors"
	"fmt"

	"github.com/controlloop/controlloop"
)

// ErrNotConformant is wrapped by every failure [Check] reports: the backend
// broke a rule of the contract (or a declaration in [Options] is untrue).
var ErrNotConformant = errors.New("sourcetest: backend does not conform")

// invalid reports that the option what, whose value is value, breaks rule:
// an error wrapping [controlloop.ErrInvalid] such as
// "sourcetest: Options.New is nil: must make a backend: controlloop: invalid".
func invalid(what string, value any, rule string) error {
	return fmt.Errorf("sourcetest: %s is %v: %s: %w", what, value, rule, controlloop.ErrInvalid)
}
