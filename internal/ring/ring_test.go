package ring_test

import (
	"testing"

	"github.com/controlloop/controlloop/internal/ring"
	"pgregory.net/rapid"
)

// TestRingModel checks Ring against a slice after every step.
func TestRingModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var r ring.Ring[int]
		var model []int
		t.Repeat(map[string]func(*rapid.T){
			"push": func(t *rapid.T) {
				for range rapid.IntRange(1, 700).Draw(t, "count") {
					v := rapid.Int().Draw(t, "v")
					r.Push(v)
					model = append(model, v)
				}
			},
			"pop": func(t *rapid.T) {
				for range rapid.IntRange(1, 700).Draw(t, "count") {
					if len(model) == 0 {
						return
					}
					if got := r.Pop(); got != model[0] {
						t.Fatalf("Pop = %d, want %d", got, model[0])
					}
					model = model[1:]
				}
			},
			"": func(t *rapid.T) {
				if r.Len() != len(model) {
					t.Fatalf("Len = %d, want %d", r.Len(), len(model))
				}
				for i, want := range model {
					if got := r.At(i); got != want {
						t.Fatalf("At(%d) = %d, want %d", i, got, want)
					}
				}
			},
		})
	})
}
