package informer

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"testing/synctest"
)

// fakeInformer fails with err when released, or when its context ends.
type fakeInformer struct {
	release chan struct{}
	err     error
}

func (f *fakeInformer) Run(ctx context.Context) error {
	select {
	case <-f.release:
	case <-ctx.Done():
	}
	return f.err
}

func (f *fakeInformer) HasSynced() bool { return true }

func (f *fakeInformer) Ready() error { return nil }

// TestFactoryJoinsErrorsOfLateInformers checks that Run returns the error
// of an informer started while it runs (as Shared starts one) as well as
// that of the informer whose failure stopped the factory: one failure
// cancels the others, and every error is joined.
func TestFactoryJoinsErrorsOfLateInformers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errEarly, errLate := errors.New("early failed"), errors.New("late failed")
		early := &fakeInformer{release: make(chan struct{}), err: errEarly}
		late := &fakeInformer{release: make(chan struct{}), err: errLate}
		healthy := &fakeInformer{release: make(chan struct{})}
		f := &Factory{informers: map[factoryKey]factoryEntry{
			{typ: reflect.TypeFor[int]()}:    {inf: early},
			{typ: reflect.TypeFor[string]()}: {inf: healthy},
		}}
		done := make(chan error, 1)
		go func() { done <- f.Run(context.Background()) }()
		synctest.Wait()
		f.mu.Lock()
		f.informers[factoryKey{typ: reflect.TypeFor[bool]()}] = factoryEntry{inf: late}
		f.lockedStart(late) // what Shared does for an informer created while f runs
		f.mu.Unlock()
		synctest.Wait()
		close(early.release) // early fails: the factory stops late and healthy
		err := <-done
		if !errors.Is(err, errEarly) || !errors.Is(err, errLate) {
			t.Errorf("Run = %v, want both %v and %v joined", err, errEarly, errLate)
		}
	})
}
