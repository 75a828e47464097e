package informer_test

import (
	"errors"
	"testing"
	"testing/synctest"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/indexer"
	"github.com/controlloop/controlloop/informer"
	"github.com/google/go-cmp/cmp"
)

// A change the cache refuses (its index function fails) reaches no handler,
// and the next change of the object is told against what the cache holds.
func TestFailedCacheWriteIsSkipped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStore(t)
		a, _ := s.Create(ctx, pod("ns", "a"))
		inf := newInformer(t, s, informer.Options[*Pod]{Indexers: indexer.Indexers[*Pod]{
			"phase": func(p *Pod) ([]string, error) {
				if p.Phase == "Broken" {
					return nil, errors.New("unindexable")
				}
				return []string{p.Phase}, nil
			},
		}})
		rec := &recorder{}
		if _, err := inf.AddHandler(rec, informer.HandlerOptions{}); err != nil {
			t.Fatal(err)
		}
		stop := start(inf)
		defer stop()
		synctest.Wait()

		a.Phase = "Broken"
		a, _ = s.Update(ctx, a)
		synctest.Wait()
		if got, _ := inf.Reader().Get(controlloop.KeyOf(a)); got.ResourceVersion != "1" {
			t.Errorf("cache holds version %s after a refused write, want 1", got.ResourceVersion)
		}
		a.Phase = "Running"
		_, _ = s.Update(ctx, a)
		b, _ := s.Create(ctx, pod("ns", "b"))
		b.Phase = "Broken"
		_, _ = s.Update(ctx, b)
		_ = s.Delete(ctx, controlloop.KeyOf(b), controlloop.DeleteOptions{})
		synctest.Wait()

		want := []event{
			{Kind: "add", Key: "ns/a", RV: "1", Initial: true},
			{Kind: "update", Key: "ns/a", RV: "3", OldRV: "1"},
			{Kind: "add", Key: "ns/b", RV: "4"},
			{Kind: "delete", Key: "ns/b", RV: "6"},
		}
		if diff := cmp.Diff(want, rec.all()); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(storeState(s), cacheState(inf)); diff != "" {
			t.Errorf("cache differs from store (-store +cache):\n%s", diff)
		}
	})
}
