package inspect_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that the tests leave no goroutine behind: the
// controllers they run stop with their Run.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
