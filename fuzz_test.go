package controlloop_test

import (
	"errors"
	"testing"

	"github.com/controlloop/controlloop"
)

// FuzzParseKey checks that ParseKey never panics, that every string it
// accepts is the String of the valid key it returns, and that it refuses
// everything else with ErrInvalid. Seeds: testdata/fuzz/FuzzParseKey.
func FuzzParseKey(f *testing.F) {
	for _, s := range []string{"", "name", "ns/name", "/", "ns/", "/name", "a/b/c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := controlloop.ParseKey(s)
		if err != nil {
			if !errors.Is(err, controlloop.ErrInvalid) || k != (controlloop.Key{}) {
				t.Fatalf("ParseKey(%q) = %v, %v; want a zero Key and an error wrapping ErrInvalid", s, k, err)
			}
			return
		}
		if verr := k.Validate(); verr != nil {
			t.Fatalf("ParseKey(%q) = %v, which is invalid: %v", s, k, verr)
		}
		if k.String() != s {
			t.Fatalf("ParseKey(%q) = %v, whose String is %q", s, k, k.String())
		}
	})
}

// FuzzKeyRoundTrip checks that ParseKey reverses Key.String for every valid
// key. Seeds: testdata/fuzz/FuzzKeyRoundTrip.
func FuzzKeyRoundTrip(f *testing.F) {
	f.Add("", "name")
	f.Add("ns", "name")
	f.Add("ns", "")
	f.Add("a/b", "c")
	f.Fuzz(func(t *testing.T, ns, name string) {
		k := controlloop.Key{Namespace: ns, Name: name}
		if k.Validate() != nil {
			return
		}
		if got, err := controlloop.ParseKey(k.String()); err != nil || got != k {
			t.Fatalf("ParseKey(%q) = %v, %v; want %v", k.String(), got, err, k)
		}
	})
}
