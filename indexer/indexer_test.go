package indexer

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/controlloop/controlloop"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestErrors checks the errors of New, AddIndexers, writes and reads:
// invalid options wrap ErrInvalid and name the index and the rule.
func TestErrors(t *testing.T) {
	for _, c := range []struct {
		indexers Indexers[*thing]
		want     string
		also     error
	}{
		{Indexers[*thing]{NamespaceIndex: tagIndex}, `indexer: Options.Indexers["namespace"] is set: the namespace index is always defined`, ErrIndexExists},
		{Indexers[*thing]{"tag": nil}, `indexer: Options.Indexers["tag"] is nil: an IndexFunc must not be nil`, nil},
		{Indexers[*thing]{"": tagIndex}, `indexer: Options.Indexers has an empty index name: names must not be empty`, nil},
	} {
		ix, err := New(Options[*thing]{Indexers: c.indexers})
		if ix != nil || !errors.Is(err, controlloop.ErrInvalid) || c.also != nil && !errors.Is(err, c.also) {
			t.Errorf("New(%v) = %v, %v; want an error wrapping ErrInvalid (and %v)", c.indexers, ix, err, c.also)
			continue
		}
		if !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("New(%v): error %q, want it to start %q", c.indexers, err, c.want)
		}
	}
	ix, err := New(Options[*thing]{Indexers: Indexers[*thing]{"tag": tagIndex}})
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.AddIndexers(Indexers[*thing]{"tag": tagIndex}); !errors.Is(err, ErrIndexExists) {
		t.Errorf("AddIndexers of an existing name: err = %v", err)
	}
	if err := ix.AddIndexers(Indexers[*thing]{"app": appIndex}); err != nil {
		t.Errorf("AddIndexers while empty: %v", err)
	}
	for _, bad := range []*thing{nil, mk("ns", "")} {
		if err := ix.Add(bad); !errors.Is(err, controlloop.ErrInvalid) {
			t.Errorf("Add(%v): err = %v, want ErrInvalid", bad, err)
		}
		if err := ix.Delete(bad); !errors.Is(err, controlloop.ErrInvalid) {
			t.Errorf("Delete(%v): err = %v, want ErrInvalid", bad, err)
		}
		if err := ix.Replace([]*thing{mk("ns", "ok"), bad}, ""); !errors.Is(err, controlloop.ErrInvalid) {
			t.Errorf("Replace with %v: err = %v, want ErrInvalid", bad, err)
		}
	}
	if err := ix.Add(mk("ns", "a", "red")); err != nil {
		t.Fatal(err)
	}
	if err := ix.AddIndexers(Indexers[*thing]{"late": appIndex}); !errors.Is(err, ErrNotEmpty) {
		t.Errorf("AddIndexers with data: err = %v, want ErrNotEmpty", err)
	}
	for _, f := range []func() error{
		func() error { _, err := byIndex(ix, "late", "x"); return err },
		func() error { _, err := ix.ByIndex("late", "x"); return err },
		func() error { _, err := ix.IndexKeys("late", "x"); return err },
		func() error { _, err := ix.ListIndexValues("late"); return err },
	} {
		if err := f(); !errors.Is(err, ErrUnknownIndex) {
			t.Errorf("read of an unknown index: err = %v, want ErrUnknownIndex", err)
		}
	}
	if got := ix.IndexNames(); !slices.Equal(got[:1], []string{NamespaceIndex}) || len(got) != 3 {
		t.Errorf("IndexNames = %v", got)
	}
}

// An IndexFunc error reaches the caller, and the indexer is unchanged.
func TestIndexFuncErrorLeavesIndexerUnchanged(t *testing.T) {
	ix, _ := New(Options[*thing]{Indexers: Indexers[*thing]{"tag": tagIndex}})
	good := mk("ns", "a", "red")
	if err := ix.Add(good); err != nil {
		t.Fatal(err)
	}
	bad := mk("ns", "a", "blue")
	bad.Bad = true
	if err := ix.Update(bad); !errors.Is(err, errBad) {
		t.Fatalf("Update: err = %v, want errBad", err)
	}
	if err := ix.Replace([]*thing{mk("ns", "b"), bad}, ""); !errors.Is(err, errBad) {
		t.Fatalf("Replace: err = %v, want errBad", err)
	}
	if err := ix.Add(func() *thing { b := mk("ns", "c"); b.Bad = true; return b }()); !errors.Is(err, errBad) {
		t.Fatalf("Add: err = %v, want errBad", err)
	}
	if got, _ := ix.Get(controlloop.KeyOf(good)); got != good || ix.Len() != 1 {
		t.Fatalf("after failed writes: Get = %v, Len = %d", got, ix.Len())
	}
	if got, _ := byIndex(ix, "tag", "red"); len(got) != 1 || got[0] != good {
		t.Fatalf("ByIndex(tag, red) = %v", got)
	}
}

// An update moves the object between values; a value left empty disappears.
func TestUpdateKeepsIndexesExact(t *testing.T) {
	ix, _ := New(Options[*thing]{Indexers: Indexers[*thing]{"tag": tagIndex}})
	must(t, ix.Add(mk("ns", "a", "red", "green")))
	must(t, ix.Add(mk("ns", "b", "green")))
	must(t, ix.Update(mk("ns", "a", "blue", "green", "blue")))
	values := collect(ix.ListIndexValues("tag"))
	slices.Sort(values)
	if !slices.Equal(values, []string{"blue", "green"}) {
		t.Errorf("ListIndexValues = %v, want [blue green] (red emptied)", values)
	}
	if got, _ := byIndex(ix, "tag", "red"); len(got) != 0 {
		t.Errorf("ByIndex(red) = %v, want none", got)
	}
	if got := collect(ix.IndexKeys("tag", "green")); len(got) != 2 {
		t.Errorf("IndexKeys(green) = %v, want a and b", got)
	}
	// The green set must hold the new object, not the one before the move.
	got, _ := byIndex(ix, "tag", "blue")
	if len(got) != 1 || !slices.Equal(got[0].Tags, []string{"blue", "green", "blue"}) {
		t.Errorf("ByIndex(blue) = %v", got)
	}
	must(t, ix.Delete(mk("ns", "a")))
	must(t, ix.Delete(mk("ns", "a"))) // missing: no-op
	values = collect(ix.ListIndexValues("tag"))
	if !slices.Equal(values, []string{"green"}) {
		t.Errorf("after delete: ListIndexValues = %v", values)
	}
	nsValues := collect(ix.ListIndexValues(NamespaceIndex))
	if !slices.Equal(nsValues, []string{"ns"}) {
		t.Errorf("namespace values = %v", nsValues)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestZeroIndexer(t *testing.T) {
	var ix Indexer[*thing]
	if ix.Len() != 0 || len(slices.Collect(ix.List())) != 0 {
		t.Fatal("zero indexer not empty")
	}
	must(t, ix.Add(mk("a", "x")))
	got, err := byIndex(&ix, NamespaceIndex, "a")
	if err != nil || len(got) != 1 {
		t.Fatalf("ByIndex = %v, %v", got, err)
	}
}

// A walk sees the keys present when it started, whatever is written while
// it runs, and the loop body may write.
func TestWalkIsIsolatedFromWrites(t *testing.T) {
	ix, _ := New(Options[*thing]{})
	for i := range 100 {
		must(t, ix.Add(mkN(i)))
	}
	n := 0
	for k, o := range ix.All() {
		must(t, ix.Delete(o))
		must(t, ix.Add(mk("new", k.Name)))
		n++
	}
	if n != 100 {
		t.Fatalf("walk saw %d objects, want 100", n)
	}
	if got := collect(ix.IndexKeys(NamespaceIndex, "new")); len(got) != 100 || ix.Len() != 100 {
		t.Fatalf("after the walk: %d in new, Len %d", len(got), ix.Len())
	}
}

// Writers and readers at once, under the race detector: each reader's view
// stays consistent (every object it gets from the namespace index is in
// that namespace and carries the tag it was found under).
func TestConcurrentReadersAndWriters(t *testing.T) {
	ix, _ := New(Options[*thing]{Indexers: Indexers[*thing]{"tag": tagIndex}})
	var wg sync.WaitGroup
	const writers, readers, rounds = 4, 4, 500
	errs := make(chan error, writers+readers)
	for w := range writers {
		wg.Go(func() {
			for i := range rounds {
				o := mk(fmt.Sprintf("ns-%d", i%3), fmt.Sprintf("w%d-%d", w, i%20), tags[i%len(tags)])
				var err error
				switch i % 4 {
				case 0, 1:
					err = ix.Add(o)
				case 2:
					err = ix.Update(o)
				case 3:
					err = ix.Delete(o)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for range readers {
		wg.Go(func() {
			for i := range rounds {
				ns := fmt.Sprintf("ns-%d", i%3)
				objs, _ := byIndex(ix, NamespaceIndex, ns)
				for _, o := range objs {
					if o.Namespace != ns {
						errs <- fmt.Errorf("ByIndex(namespace, %s) returned %v", ns, controlloop.KeyOf(o))
						return
					}
				}
				tag := tags[i%len(tags)]
				seq, _ := ix.ByIndex("tag", tag)
				for _, o := range seq {
					if !slices.Contains(o.Tags, tag) {
						errs <- fmt.Errorf("ByIndex(tag, %s) returned %v with %v", tag, controlloop.KeyOf(o), o.Tags)
						return
					}
				}
				for k, o := range ix.All() {
					if k != controlloop.KeyOf(o) {
						errs <- fmt.Errorf("All: key %v for %v", k, controlloop.KeyOf(o))
						return
					}
				}
				ix.Get(controlloop.Key{Namespace: ns, Name: "w0-1"})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// A reader in the middle of a walk holds nothing a writer needs: writes
// complete while the walk is parked inside its loop body. (With a
// read-locked store, the writes below would wait for the walk forever.)
func TestWalkDoesNotBlockWriters(t *testing.T) {
	ix, _ := New(Options[*thing]{Indexers: Indexers[*thing]{"tag": tagIndex}})
	for i := range 10 {
		must(t, ix.Add(mkN(i)))
	}
	parked, release := make(chan struct{}), make(chan struct{})
	walked := make(chan int)
	go func() {
		n := 0
		seq, _ := ix.ByIndex(NamespaceIndex, "ns-1")
		for range ix.All() {
			if n == 0 {
				close(parked)
				<-release
			}
			n++
		}
		for range seq {
			n++
		}
		walked <- n
	}()
	<-parked
	for i := 10; i < 1000; i++ {
		must(t, ix.Add(mkN(i)))
		must(t, ix.Update(mkN(i-5)))
		must(t, ix.Delete(mkN(i-10)))
	}
	if got, _ := byIndex(ix, NamespaceIndex, "ns-1"); len(got) != 1 {
		t.Fatalf("after the writes: %d objects in ns-1, want 1", len(got))
	}
	close(release)
	if n := <-walked; n != 11 {
		t.Fatalf("the parked walks saw %d objects, want the 10+1 present when they started", n)
	}
}

// TestDuplicateValuesCountOnce checks that an IndexFunc's duplicate values
// count once, including when an Update compares the old values with the
// new: (red, red) to (red, blue) moves the object into blue.
func TestDuplicateValuesCountOnce(t *testing.T) {
	ix, _ := New(Options[*thing]{Indexers: Indexers[*thing]{"tag": tagIndex}})
	must(t, ix.Add(mk("ns", "a", "red", "red")))
	must(t, ix.Update(mk("ns", "a", "red", "blue")))
	for _, tag := range []string{"red", "blue"} {
		if keys := collect(ix.IndexKeys("tag", tag)); len(keys) != 1 {
			t.Errorf("IndexKeys(tag, %s) = %v, want a", tag, keys)
		}
	}
}

// TestReplaceWithKeyListedTwice checks that when Replace is given a key
// twice, the later object wins in the indexes too: the earlier one's values
// are not left behind.
func TestReplaceWithKeyListedTwice(t *testing.T) {
	ix, _ := New(Options[*thing]{Indexers: Indexers[*thing]{"tag": tagIndex}})
	must(t, ix.Replace([]*thing{mk("ns", "a", "red"), mk("ns", "b", "green"), mk("ns", "a", "blue")}, ""))
	values := collect(ix.ListIndexValues("tag"))
	slices.Sort(values)
	if !slices.Equal(values, []string{"blue", "green"}) || ix.Len() != 2 {
		t.Errorf("ListIndexValues = %v, Len %d; want [blue green] and 2", values, ix.Len())
	}
	if got, _ := byIndex(ix, "tag", "blue"); len(got) != 1 || got[0].Name != "a" {
		t.Errorf("ByIndex(tag, blue) = %v, want a", got)
	}
}
