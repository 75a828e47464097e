package reflector_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/reflector"
)

// replaceOnce is a Store that signals the first Replace and ignores the rest.
type replaceOnce struct {
	n    int
	done chan struct{}
}

func (s *replaceOnce) Add(*Pod) error    { return nil }
func (s *replaceOnce) Update(*Pod) error { return nil }
func (s *replaceOnce) Delete(*Pod) error { return nil }
func (s *replaceOnce) Resync() error     { return nil }
func (s *replaceOnce) Replace(items []*Pod, _ string) error {
	s.n = len(items)
	close(s.done)
	return nil
}

// BenchmarkInitialList measures a reflector's start: a paged List of 100k
// objects (pages of 500, the default) and their Replace into the store,
// until Run is watching. B/op counts the list's copies of every object.
func BenchmarkInitialList(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	store := must(memstore.New[*Pod](memstore.Options{}))
	for i := range n {
		p := &Pod{ObjectMeta: controlloop.ObjectMeta{Namespace: "ns" + strconv.Itoa(i%10), Name: "p" + strconv.Itoa(i)}}
		if _, err := store.Create(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
	first, err := store.Get(ctx, controlloop.Key{Namespace: "ns0", Name: "p0"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		// A write, so that the list cannot reuse the previous one's sorted
		// snapshot: every iteration pays for a cold list.
		if first, err = store.Update(ctx, first); err != nil {
			b.Fatal(err)
		}
		sk := &replaceOnce{done: make(chan struct{})}
		r, err := reflector.New[*Pod](store, sk, reflector.Options{Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		stopped := make(chan struct{})
		go func() {
			defer close(stopped)
			r.Run(rctx)
		}()
		<-sk.done
		cancel()
		<-stopped
		if sk.n != n {
			b.Fatalf("replaced %d objects, want %d", sk.n, n)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "objects/s")
}

// BenchmarkEvents measures events flowing from a memstore write through a
// watch and the reflector into the store.
func BenchmarkEvents(b *testing.B) {
	ctx := context.Background()
	store := must(memstore.New[*Pod](memstore.Options{}))
	p, err := store.Create(ctx, &Pod{ObjectMeta: controlloop.ObjectMeta{Name: "p"}})
	if err != nil {
		b.Fatal(err)
	}
	sk := &countSink{updates: make(chan struct{}, 1)}
	r, err := reflector.New[*Pod](store, sk, reflector.Options{Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		r.Run(rctx)
	}()
	defer func() {
		cancel()
		<-stopped
	}()
	<-sk.updates // the Replace
	b.ReportAllocs()
	for b.Loop() {
		if p, err = store.Update(ctx, p); err != nil {
			b.Fatal(err)
		}
		<-sk.updates
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// countSink signals each Replace and Update.
type countSink struct{ updates chan struct{} }

func (s *countSink) Add(*Pod) error               { return nil }
func (s *countSink) Update(*Pod) error            { s.updates <- struct{}{}; return nil }
func (s *countSink) Delete(*Pod) error            { return nil }
func (s *countSink) Resync() error                { return nil }
func (s *countSink) Replace([]*Pod, string) error { s.updates <- struct{}{}; return nil }

var _ reflector.Store[*Pod] = (*countSink)(nil)
