package memstore

import (
	"errors"
	"testing"

	"github.com/controlloop/controlloop"
)

// FuzzParseRV checks that parseRV never panics, accepts exactly the strings
// formatRV writes, and refuses the rest with ErrInvalid. Seeds:
// testdata/fuzz/FuzzParseRV.
func FuzzParseRV(f *testing.F) {
	for _, s := range []string{"0", "1", "18446744073709551615", "18446744073709551616", "01", "-1", "+1", "", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rv, err := parseRV(s)
		if err != nil {
			if !errors.Is(err, controlloop.ErrInvalid) {
				t.Fatalf("parseRV(%q): %v, want an error wrapping ErrInvalid", s, err)
			}
			return
		}
		if formatRV(rv) != s {
			t.Fatalf("parseRV(%q) = %d, written %q", s, rv, formatRV(rv))
		}
	})
}

// FuzzParseToken checks that parseToken never panics, refuses with
// ErrInvalid what it cannot read, and that every token it accepts names a
// valid key and reads back the same from its own encoding. Seeds:
// testdata/fuzz/FuzzParseToken.
func FuzzParseToken(f *testing.F) {
	for _, tok := range []token{
		{rv: 1, after: controlloop.Key{Name: "a"}},
		{rv: 18446744073709551615, namespace: "ns", after: controlloop.Key{Namespace: "ns", Name: "b"}},
	} {
		f.Add(tok.String())
	}
	for _, s := range []string{"", "!", "MQ", "MS8vLw", "MDEvLy9h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := parseToken(s)
		if err != nil {
			if !errors.Is(err, controlloop.ErrInvalid) {
				t.Fatalf("parseToken(%q): %v, want an error wrapping ErrInvalid", s, err)
			}
			return
		}
		if err := tok.after.Validate(); err != nil {
			t.Fatalf("parseToken(%q) = %+v, after an invalid key: %v", s, tok, err)
		}
		again, err := parseToken(tok.String())
		if err != nil || again != tok {
			t.Fatalf("parseToken(%q) = %+v, but its encoding %q reads %+v, %v", s, tok, tok.String(), again, err)
		}
	})
}
