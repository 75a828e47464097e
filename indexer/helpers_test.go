package indexer

import (
	"errors"
	"iter"
	"slices"
	"strconv"

	"github.com/controlloop/controlloop"
)

// thing is the object type of these tests.
type thing struct {
	controlloop.ObjectMeta
	Tags []string // indexed by "tag", duplicates allowed
	Bad  bool     // makes the "tag" index fail
}

var errBad = errors.New("bad thing")

func tagIndex(t *thing) ([]string, error) {
	if t.Bad {
		return nil, errBad
	}
	return t.Tags, nil
}

func appIndex(t *thing) ([]string, error) {
	if app, ok := t.Labels["app"]; ok {
		return []string{app}, nil
	}
	return nil, nil
}

func mk(ns, name string, tags ...string) *thing {
	return &thing{ObjectMeta: controlloop.ObjectMeta{Namespace: ns, Name: name}, Tags: tags}
}

func mkN(i int) *thing {
	return &thing{ObjectMeta: controlloop.ObjectMeta{Namespace: "ns-" + strconv.Itoa(i%10), Name: "obj-" + strconv.Itoa(i)}}
}

// byIndex is ByIndex collected into a slice.
func byIndex[T controlloop.Object](ix *Indexer[T], name, value string) ([]T, error) {
	seq, err := ix.ByIndex(name, value)
	if err != nil {
		return nil, err
	}
	return controlloop.Collect(seq), nil
}

// collect returns the elements of a walk that did not fail, nil if it did.
func collect[E any](seq iter.Seq[E], err error) []E {
	if err != nil {
		return nil
	}
	return slices.Collect(seq)
}
