package sourcetest_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/sourcetest"
)

// TestInvalidOptions checks that Check refuses invalid options with an
// error wrapping ErrInvalid that names the field and the rule, and runs
// nothing.
func TestInvalidOptions(t *testing.T) {
	made := 0
	newStore := func() (sourcetest.Backend[object], error) {
		made++
		return memstore.New[object](memstore.Options{})
	}
	tests := []struct {
		name string
		opts sourcetest.Options[object]
		want string
	}{
		{"no New", sourcetest.Options[object]{}, "sourcetest: Options.New is nil: must make a backend"},
		{"negative Sequences", sourcetest.Options[object]{New: newStore, Sequences: -1}, "sourcetest: Options.Sequences is -1: must not be negative"},
		{"negative Timeout", sourcetest.Options[object]{New: newStore, Timeout: -1}, "sourcetest: Options.Timeout is -1ns: must not be negative"},
		{"negative ValueLimit", sourcetest.Options[object]{New: newStore, Differences: sourcetest.Differences{ValueLimit: -2}}, "sourcetest: Options.Differences.ValueLimit is -2: must not be negative"},
		{"nil sample", sourcetest.Options[object]{New: newStore, Samples: []object{nil}}, "sourcetest: Options.Samples[0] is : must be a valid object"},
		{"sample without a name", sourcetest.Options[object]{New: newStore, Samples: []object{{}}}, "Options.Samples[0] is : must be a valid object"},
		{"samples with one key", sourcetest.Options[object]{New: newStore, Samples: []object{sample("a"), sample("a")}}, "sourcetest: Options.Samples[1] is ns/a: must have a key of its own"},
		{"sample with a version", sourcetest.Options[object]{New: newStore, Samples: []object{withRV(sample("a"))}}, "sourcetest: Options.Samples[0] is ns/a: must carry no resource version, carries 3"},
	}
	for _, tt := range tests {
		err := sourcetest.Check(tt.opts)
		if !errors.Is(err, controlloop.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Check = %v, want ErrInvalid with %q", tt.name, err, tt.want)
		}
	}
	if made != 0 {
		t.Errorf("Check made %d backends with invalid options", made)
	}
	// A type that is not a pointer to a struct needs NewObject.
	err := sourcetest.Check(sourcetest.Options[mapObject]{New: func() (sourcetest.Backend[mapObject], error) { return nil, errors.New("unused") }})
	if want := "sourcetest: Options.NewObject is nil: must make objects, as sourcetest_test.mapObject is not a pointer to a struct"; !errors.Is(err, controlloop.ErrInvalid) || !strings.Contains(err.Error(), want) {
		t.Errorf("Check of a map type without NewObject = %v, want ErrInvalid with %q", err, want)
	}
}

func sample(name string) object {
	return &sourcetest.Object{ObjectMeta: controlloop.ObjectMeta{Namespace: "ns", Name: name}}
}

func withRV(o object) object { o.ResourceVersion = "3"; return o }

// mapObject is an Object that is not a pointer to a struct.
type mapObject map[string]*controlloop.ObjectMeta

func (m mapObject) GetNamespace() string                   { return "" }
func (m mapObject) GetName() string                        { return "" }
func (m mapObject) GetResourceVersion() string             { return "" }
func (m mapObject) GetObjectMeta() *controlloop.ObjectMeta { return m[""] }

// pod is a user's own type, as a backend of one type runs the suite with.
type pod struct {
	controlloop.ObjectMeta
	Image    string
	Replicas *int
	hidden   string
}

// TestOwnType checks that a backend of the user's own type runs the suite
// with its own samples, and that their differences are checked too.
func TestOwnType(t *testing.T) {
	three := 3
	opts := sourcetest.Options[*pod]{
		New:     func() (sourcetest.Backend[*pod], error) { return memstore.New[*pod](memstore.Options{}) },
		Samples: []*pod{{ObjectMeta: controlloop.ObjectMeta{Namespace: "own", Name: "web"}, Image: "nginx", Replicas: &three, hidden: "h"}},
	}
	if err := sourcetest.Check(opts); err != nil {
		t.Errorf("memstore of *pod: %v", err)
	}
	opts.Differences.UnexportedFieldsDropped = true
	wantFailure(t, sourcetest.Check(opts), "RoundTrip")
}
