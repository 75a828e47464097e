package memstore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/memstore"
)

func TestNewRefusesInvalidOptions(t *testing.T) {
	cases := map[string]struct {
		opts memstore.Options
		want string
	}{
		"negative history": {memstore.Options{HistorySize: -1},
			"memstore: Options.HistorySize is -1: must not be negative"},
		"negative watch lag": {memstore.Options{MaxWatchLag: -1},
			"memstore: Options.MaxWatchLag is -1: must not be negative"},
		"negative bookmark interval": {memstore.Options{BookmarkInterval: -time.Second},
			"memstore: Options.BookmarkInterval is -1s: must not be negative"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s, err := memstore.New[*Pod](tc.opts)
			if s != nil || !errors.Is(err, controlloop.ErrInvalid) {
				t.Fatalf("New = %v, %v; want nil and an error wrapping controlloop.ErrInvalid", s, err)
			}
			if want := tc.want + ": " + controlloop.ErrInvalid.Error(); err.Error() != want {
				t.Fatalf("error %q, want %q", err, want)
			}
		})
	}
}
