package workqueue_test

import (
	"errors"
	"testing"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/workqueue"
)

// nilProvider is a MetricsProvider whose nil pointer New must refuse.
type nilProvider struct{}

func (*nilProvider) ForQueue(string, func() workqueue.InFlight) workqueue.QueueMetrics { return nil }

func TestNewRefusesInvalidOptions(t *testing.T) {
	cases := map[string]struct {
		opts workqueue.Options[string]
		want string
	}{
		"name not UTF-8": {workqueue.Options[string]{Name: "pods\xff"},
			`workqueue: Options.Name is "pods\xff": must be valid UTF-8`},
		"nil limiter pointer": {workqueue.Options[string]{RateLimiter: (*workqueue.ItemExponential[string])(nil)},
			"workqueue: Options.RateLimiter is *workqueue.ItemExponential[string](nil): must not be a nil pointer"},
		"nil metrics pointer": {workqueue.Options[string]{Metrics: (*nilProvider)(nil)},
			"workqueue: Options.Metrics is *workqueue_test.nilProvider(nil): must not be a nil pointer"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			q, err := workqueue.New(tc.opts)
			if q != nil || !errors.Is(err, controlloop.ErrInvalid) {
				t.Fatalf("New = %v, %v; want nil and an error wrapping controlloop.ErrInvalid", q, err)
			}
			if want := tc.want + ": " + controlloop.ErrInvalid.Error(); err.Error() != want {
				t.Fatalf("error %q, want %q", err, want)
			}
		})
	}
}

func TestNewAcceptsValidName(t *testing.T) {
	if _, err := workqueue.New(workqueue.Options[string]{Name: "pöds"}); err != nil {
		t.Fatalf("New with a UTF-8 name and defaults = %v", err)
	}
}
