package indexer

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/controlloop/controlloop"
)

// TestReadsTakeNoWritersLock (issue 14, "Readers never wait for
// writers"): every read completes while the writers' mutex is held, also
// right after writes with no read between them (before issue 14 such a
// read published the writes under that mutex, and so waited for the
// writer holding it).
func TestReadsTakeNoWritersLock(t *testing.T) {
	ix, _ := New(Options[*thing]{Indexers: Indexers[*thing]{"tag": tagIndex}})
	for i := range 100 {
		must(t, ix.Add(mkN(i)))
	}
	k := controlloop.KeyOf(mkN(1))
	ix.mu.Lock()
	defer ix.mu.Unlock()
	done := make(chan error, 1)
	go func() { done <- readAll(ix, k) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("reads waited for the writers' mutex")
	}
}

// readAll calls every read of ix and checks what it sees of 100 objects
// from mkN, k among them.
func readAll(ix *Indexer[*thing], k controlloop.Key) error {
	if _, ok := ix.Get(k); !ok || ix.Len() != 100 || len(slices.Collect(ix.List())) != 100 || len(slices.Collect(ix.Keys())) != 100 {
		return errors.New("Get, Len, List or Keys saw the wrong content")
	}
	n := 0
	for range ix.All() {
		n++
	}
	seq, err := ix.ByIndex(NamespaceIndex, "ns-1")
	if err != nil {
		return err
	}
	for range seq {
		n++
	}
	if _, err := ix.IndexKeys("tag", "x"); err != nil {
		return err
	}
	if _, err := ix.ListIndexValues(NamespaceIndex); err != nil {
		return err
	}
	if n != 110 {
		return fmt.Errorf("walks saw %d objects, want 110", n)
	}
	return nil
}

// TestWritePublishesAtEnd: a reader sees none of the keys a Txn adds or
// removes while its function runs, and all of them once Write returns; a
// single write is seen as soon as it returns.
func TestWritePublishesAtEnd(t *testing.T) {
	ix, _ := New(Options[*thing]{})
	must(t, ix.Add(mkN(0)))
	if _, ok := ix.Get(controlloop.KeyOf(mkN(0))); !ok || ix.Len() != 1 {
		t.Fatal("a returned Add is not seen")
	}
	ix.Write(func(tx *Txn[*thing]) {
		for i := 1; i < 10; i++ {
			if _, _, err := tx.Put(mkN(i)); err != nil {
				t.Fatal(err)
			}
		}
		if _, ok, _ := tx.Delete(mkN(0)); !ok {
			t.Fatal("Txn.Delete of a stored key reported none")
		}
		if _, ok := ix.Get(controlloop.KeyOf(mkN(5))); ok || ix.Len() != 1 || len(slices.Collect(ix.List())) != 1 {
			t.Fatal("a reader saw a Txn's writes before Write returned")
		}
		if _, ok := ix.Get(controlloop.KeyOf(mkN(0))); !ok {
			t.Fatal("a reader lost a key that a running Txn deletes")
		}
	})
	if _, ok := ix.Get(controlloop.KeyOf(mkN(5))); !ok || ix.Len() != 9 {
		t.Fatal("a Txn's writes are not seen after Write returned")
	}
	if _, ok := ix.Get(controlloop.KeyOf(mkN(0))); ok {
		t.Fatal("a Txn's delete is not seen after Write returned")
	}
}

// TestWriteAllocations checks the package doc's cost claims: with only the
// namespace index, an Update of an existing key allocates nothing; and writes in one Txn change its draft in place, so they
// allocate less than the same writes made one by one (each of which copies
// its path, to publish it).
func TestWriteAllocations(t *testing.T) {
	nsOnly, _ := New(Options[*thing]{})
	for i := range 5000 {
		must(t, nsOnly.Add(mkN(i)))
	}
	same := mkN(7)
	if a := testing.AllocsPerRun(100, func() { _ = nsOnly.Update(same) }); a > 0 {
		t.Errorf("an Update with only the namespace index: %v allocations, want 0", a)
	}

	ix, _ := New(Options[*thing]{Indexers: Indexers[*thing]{"tag": tagIndex}})
	const n = 5000
	objs := make([]*thing, n)
	for i := range objs {
		objs[i] = mk(fmt.Sprint("ns-", i%10), fmt.Sprint("obj-", i), "red")
		must(t, ix.Add(objs[i]))
	}
	tags := [2]string{"red", "blue"}
	flips := make([]int, n) // each object's moves so far: the next moves it again
	i := 0
	next := func() *thing {
		i++
		o := objs[i%n]
		flips[i%n]++
		return mk(o.Namespace, o.Name, tags[flips[i%n]%2])
	}
	const batch = 100
	single := testing.AllocsPerRun(5, func() {
		for range batch {
			_ = ix.Update(next())
		}
	})
	batched := testing.AllocsPerRun(5, func() {
		ix.Write(func(tx *Txn[*thing]) {
			for range batch {
				_, _, _ = tx.Put(next())
			}
		})
	})
	if batched >= single*2/3 {
		t.Errorf("%d index-moving Updates: %v allocations in one Txn, %v one by one; want under 2/3 in one Txn", batch, batched, single)
	}
	if testing.Verbose() {
		t.Logf("%d index-moving Updates: %v allocations in one Txn, %v one by one", batch, batched, single)
	}
}

// TestReplaceIsAtomic checks that a reader sees either the content before a
// Replace or the content after, never a mix, while Replaces run.
func TestReplaceIsAtomic(t *testing.T) {
	ix, _ := New(Options[*thing]{})
	lists := [2][]*thing{}
	for i := range 100 {
		lists[0] = append(lists[0], mk("a", fmt.Sprint(i)))
	}
	for i := range 50 {
		lists[1] = append(lists[1], mk("b", fmt.Sprint(i)))
	}
	must(t, ix.Replace(lists[0], ""))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		defer close(stop)
		for i := range 200 {
			if err := ix.Replace(lists[i%2], ""); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			count := map[string]int{}
			for _, o := range ix.All() {
				count[o.Namespace]++
			}
			if len(count) != 1 || count["a"] != 0 && count["a"] != 100 || count["b"] != 0 && count["b"] != 50 {
				t.Errorf("a walk during Replaces saw %v, want all of one list", count)
				return
			}
		}
	})
	wg.Wait()
}
