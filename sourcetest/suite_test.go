package sourcetest_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/memstore"
	"github.com/controlloop/controlloop/sourcetest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type object = *sourcetest.Object

// broken is a memstore.Store with one rule of the contract broken, by the
// methods that a test sets.
type broken struct {
	*memstore.Store[object]
	get          func(s *memstore.Store[object], ctx context.Context, key controlloop.Key) (object, error)
	create       func(s *memstore.Store[object], ctx context.Context, obj object) (object, error)
	update       func(s *memstore.Store[object], ctx context.Context, obj object) (object, error)
	updateStatus func(s *memstore.Store[object], ctx context.Context, obj object) (object, error)
	delete       func(s *memstore.Store[object], ctx context.Context, key controlloop.Key, opts controlloop.DeleteOptions) error
	list         func(s *memstore.Store[object], ctx context.Context, opts controlloop.ListOptions) (controlloop.ListResult[object], error)
	watch        func(s *memstore.Store[object], ctx context.Context, opts controlloop.WatchOptions) (<-chan controlloop.Event[object], error)
	// progress, if set, is RequestProgress.
	progress func(s *memstore.Store[object])
}

func (b *broken) Get(ctx context.Context, key controlloop.Key) (object, error) {
	if b.get != nil {
		return b.get(b.Store, ctx, key)
	}
	return b.Store.Get(ctx, key)
}

func (b *broken) Create(ctx context.Context, obj object) (object, error) {
	if b.create != nil {
		return b.create(b.Store, ctx, obj)
	}
	return b.Store.Create(ctx, obj)
}

func (b *broken) Update(ctx context.Context, obj object) (object, error) {
	if b.update != nil {
		return b.update(b.Store, ctx, obj)
	}
	return b.Store.Update(ctx, obj)
}

func (b *broken) UpdateStatus(ctx context.Context, obj object) (object, error) {
	if b.updateStatus != nil {
		return b.updateStatus(b.Store, ctx, obj)
	}
	return b.Store.UpdateStatus(ctx, obj)
}

func (b *broken) Delete(ctx context.Context, key controlloop.Key, opts controlloop.DeleteOptions) error {
	if b.delete != nil {
		return b.delete(b.Store, ctx, key, opts)
	}
	return b.Store.Delete(ctx, key, opts)
}

func (b *broken) List(ctx context.Context, opts controlloop.ListOptions) (controlloop.ListResult[object], error) {
	if b.list != nil {
		return b.list(b.Store, ctx, opts)
	}
	return b.Store.List(ctx, opts)
}

func (b *broken) Watch(ctx context.Context, opts controlloop.WatchOptions) (<-chan controlloop.Event[object], error) {
	if b.watch != nil {
		return b.watch(b.Store, ctx, opts)
	}
	return b.Store.Watch(ctx, opts)
}

func (b *broken) RequestProgress() {
	if b.progress != nil {
		b.progress(b.Store)
		return
	}
	b.Store.RequestProgress()
}

// options returns the suite's options for memstores made with mopts and
// changed by breaking, with expiry and bookmarks.
func options(mopts memstore.Options, breaking func(*broken)) sourcetest.Options[object] {
	return sourcetest.Options[object]{
		New: func() (sourcetest.Backend[object], error) {
			s, err := memstore.New[object](mopts)
			if err != nil {
				return nil, err
			}
			b := &broken{Store: s}
			if breaking != nil {
				breaking(b)
			}
			return b, nil
		},
		Compact: func(_ context.Context, b sourcetest.Backend[object], rv string) error {
			return b.(*broken).Compact(rv)
		},
		Progress: func(_ context.Context, b sourcetest.Backend[object]) error {
			b.(*broken).RequestProgress()
			return nil
		},
		Sequences: 5, // memstore's own TestConformance runs the default
	}
}

// wantFailure fails t unless err reports a failure of each rule in rules.
func wantFailure(t *testing.T, err error, rules ...string) {
	t.Helper()
	if !errors.Is(err, sourcetest.ErrNotConformant) {
		t.Fatalf("Check = %v, want an error wrapping ErrNotConformant", err)
	}
	for _, r := range rules {
		if !strings.Contains(err.Error(), "sourcetest: "+r+": ") {
			t.Errorf("Check did not report rule %s; it reported:\n%v", r, err)
		}
	}
}

// jsonCodec is encoding/json.
type jsonCodec struct{}

func (jsonCodec) Encode(obj any) ([]byte, error)    { return json.Marshal(obj) }
func (jsonCodec) Decode(data []byte, obj any) error { return json.Unmarshal(data, obj) }

// TestCheckPasses: memstore conforms, and so does memstore with a JSON
// codec under the differences it declares.
func TestCheckPasses(t *testing.T) {
	if err := sourcetest.Check(options(memstore.Options{}, nil)); err != nil {
		t.Errorf("memstore: %v", err)
	}
	opts := options(memstore.Options{Codec: jsonCodec{}}, nil)
	opts.Differences = sourcetest.Differences{UnexportedFieldsDropped: true, EmptyMapsBecomeNil: true, EmptySlicesBecomeNil: true}
	if err := sourcetest.Check(opts); err != nil {
		t.Errorf("memstore with a JSON codec: %v", err)
	}
}

// TestDifferencesAreChecked: a difference the backend has but does not
// declare fails the round trip, and so does one it declares but does not
// have.
func TestDifferencesAreChecked(t *testing.T) {
	for _, d := range []sourcetest.Differences{
		{UnexportedFieldsDropped: true},
		{EmptyMapsBecomeNil: true},
		{EmptySlicesBecomeNil: true},
	} {
		opts := options(memstore.Options{}, nil)
		opts.Differences = d
		wantFailure(t, sourcetest.Check(opts), "RoundTrip")
	}
	all := sourcetest.Differences{UnexportedFieldsDropped: true, EmptyMapsBecomeNil: true, EmptySlicesBecomeNil: true}
	for _, d := range []sourcetest.Differences{
		{},
		{EmptyMapsBecomeNil: true, EmptySlicesBecomeNil: true},
		{UnexportedFieldsDropped: true, EmptySlicesBecomeNil: true},
		{UnexportedFieldsDropped: true, EmptyMapsBecomeNil: true},
	} {
		opts := options(memstore.Options{Codec: jsonCodec{}}, nil)
		opts.Differences = d
		if d == all {
			continue
		}
		wantFailure(t, sourcetest.Check(opts), "RoundTrip")
	}
}

// TestOrderIsChecked: memstore lists in KeyOrder, not PathOrder.
func TestOrderIsChecked(t *testing.T) {
	opts := options(memstore.Options{}, nil)
	opts.Order = sourcetest.PathOrder
	wantFailure(t, sourcetest.Check(opts), "ListOrder")
}

// relay returns the events of in, as edit changes them (edit returns the
// events to pass on instead of ev); the channel closes when in does.
func relay(in <-chan controlloop.Event[object], requests <-chan string, edit func(n int, ev controlloop.Event[object]) []controlloop.Event[object]) <-chan controlloop.Event[object] {
	out := make(chan controlloop.Event[object])
	go func() {
		defer close(out)
		n := 0
		for {
			// A pending request goes first, so that it is answered before
			// the events that follow it.
			select {
			case rv := <-requests:
				out <- controlloop.Event[object]{Type: controlloop.Bookmark, ResourceVersion: rv}
				continue
			default:
			}
			select {
			case rv := <-requests:
				out <- controlloop.Event[object]{Type: controlloop.Bookmark, ResourceVersion: rv}
			case ev, ok := <-in:
				if !ok {
					return
				}
				n++
				for _, e := range edit(n, ev) {
					out <- e
				}
			}
		}
	}()
	return out
}

// editWatch makes b's watches pass their events through edit.
func editWatch(edit func(n int, ev controlloop.Event[object]) []controlloop.Event[object]) func(*broken) {
	return func(b *broken) {
		b.watch = func(s *memstore.Store[object], ctx context.Context, opts controlloop.WatchOptions) (<-chan controlloop.Event[object], error) {
			ch, err := s.Watch(ctx, opts)
			if err != nil {
				return nil, err
			}
			return relay(ch, nil, edit), nil
		}
	}
}

// TestBrokenBackends: each way of breaking the contract is reported by the
// rule that states it.
func TestBrokenBackends(t *testing.T) {
	tests := []struct {
		name     string
		breaking func(*broken)
		rules    []string
	}{
		{"Update keeps Generation", func(b *broken) {
			b.update = func(s *memstore.Store[object], ctx context.Context, obj object) (object, error) {
				return s.UpdateStatus(ctx, obj)
			}
		}, []string{"Update", "Model"}},
		{"Create of a taken key conflicts", func(b *broken) {
			b.create = func(s *memstore.Store[object], ctx context.Context, obj object) (object, error) {
				got, err := s.Create(ctx, obj)
				if errors.Is(err, controlloop.ErrAlreadyExists) {
					err = controlloop.ErrConflict
				}
				return got, err
			}
		}, []string{"Create", "Model"}},
		{"List ignores labels", func(b *broken) {
			b.list = func(s *memstore.Store[object], ctx context.Context, opts controlloop.ListOptions) (controlloop.ListResult[object], error) {
				opts.Labels = nil
				return s.List(ctx, opts)
			}
		}, []string{"ListSelectors"}},
		{"later pages show the current state", func(b *broken) {
			b.list = func(s *memstore.Store[object], ctx context.Context, opts controlloop.ListOptions) (controlloop.ListResult[object], error) {
				res, err := s.List(ctx, opts)
				if err != nil || opts.Continue == "" {
					return res, err
				}
				var now []object
				for _, obj := range res.Items {
					if cur, err := s.Get(ctx, controlloop.KeyOf(obj)); err == nil {
						now = append(now, cur)
					}
				}
				res.Items = now
				return res, nil
			}
		}, []string{"ListPagesConsistent"}},
		{"later pages show updates made since the first", func(b *broken) {
			b.list = func(s *memstore.Store[object], ctx context.Context, opts controlloop.ListOptions) (controlloop.ListResult[object], error) {
				res, err := s.List(ctx, opts)
				if err != nil || opts.Continue == "" {
					return res, err
				}
				for i, obj := range res.Items {
					if cur, err := s.Get(ctx, controlloop.KeyOf(obj)); err == nil {
						res.Items[i] = cur
					}
				}
				return res, nil
			}
		}, []string{"ListPagesConsistent"}},
		{"a watch drops a change", editWatch(func(n int, ev controlloop.Event[object]) []controlloop.Event[object] {
			if n == 3 {
				return nil
			}
			return []controlloop.Event[object]{ev}
		}), []string{"WatchFromList", "WatchResume", "WatchSelectors", "Model"}},
		{"a watch repeats a change", editWatch(func(n int, ev controlloop.Event[object]) []controlloop.Event[object] {
			if n == 2 {
				return []controlloop.Event[object]{ev, ev}
			}
			return []controlloop.Event[object]{ev}
		}), []string{"WatchFromList", "WatchResume", "WatchSelectors", "Model"}},
		{"a Deleted event carries no labels", editWatch(func(n int, ev controlloop.Event[object]) []controlloop.Event[object] {
			if ev.Type == controlloop.Deleted {
				ev.Object.Labels = nil
			}
			return []controlloop.Event[object]{ev}
		}), []string{"WatchFromList", "WatchSelectors", "Model"}},
		{"a watch from an expired version starts from now", func(b *broken) {
			b.watch = func(s *memstore.Store[object], ctx context.Context, opts controlloop.WatchOptions) (<-chan controlloop.Event[object], error) {
				ch, err := s.Watch(ctx, opts)
				if errors.Is(err, controlloop.ErrExpired) {
					opts.ResourceVersion = ""
					return s.Watch(ctx, opts)
				}
				return ch, err
			}
		}, []string{"WatchExpired"}},
		{"a progress request is answered at once, at the store's version", func(b *broken) {
			requests := make(chan string, 1)
			b.progress = func(s *memstore.Store[object]) {
				select {
				case requests <- s.ResourceVersion():
				default:
				}
			}
			b.watch = func(s *memstore.Store[object], ctx context.Context, opts controlloop.WatchOptions) (<-chan controlloop.Event[object], error) {
				ch, err := s.Watch(ctx, opts)
				if err != nil || !opts.AllowBookmarks {
					return ch, err
				}
				return relay(ch, requests, func(_ int, ev controlloop.Event[object]) []controlloop.Event[object] {
					return []controlloop.Event[object]{ev}
				}), nil
			}
		}, []string{"BookmarksDuringReplay"}},
		{"Get of a missing key succeeds", func(b *broken) {
			b.get = func(s *memstore.Store[object], ctx context.Context, key controlloop.Key) (object, error) {
				got, err := s.Get(ctx, key)
				if errors.Is(err, controlloop.ErrNotFound) {
					return &sourcetest.Object{ObjectMeta: controlloop.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}, nil
				}
				return got, err
			}
		}, []string{"Get", "Delete", "Model"}},
		{"Get ignores a cancelled context", func(b *broken) {
			b.get = func(s *memstore.Store[object], ctx context.Context, key controlloop.Key) (object, error) {
				return s.Get(context.WithoutCancel(ctx), key)
			}
		}, []string{"CancelledContext"}},
		{"an expired version is ErrInvalid", func(b *broken) {
			b.watch = func(s *memstore.Store[object], ctx context.Context, opts controlloop.WatchOptions) (<-chan controlloop.Event[object], error) {
				ch, err := s.Watch(ctx, opts)
				if errors.Is(err, controlloop.ErrExpired) {
					err = controlloop.ErrInvalid
				}
				return ch, err
			}
		}, []string{"WatchExpired"}},
		{"a watch from an older version repeats the change at it", func(b *broken) {
			b.watch = func(s *memstore.Store[object], ctx context.Context, opts controlloop.WatchOptions) (<-chan controlloop.Event[object], error) {
				if rv, err := strconv.Atoi(opts.ResourceVersion); err == nil && opts.ResourceVersion != s.ResourceVersion() {
					opts.ResourceVersion = strconv.Itoa(rv - 1)
				}
				return s.Watch(ctx, opts)
			}
		}, []string{"WatchResume", "Model"}},
		{"UpdateStatus increases Generation", func(b *broken) {
			b.updateStatus = func(s *memstore.Store[object], ctx context.Context, obj object) (object, error) {
				return s.Update(ctx, obj)
			}
		}, []string{"UpdateStatus", "Model"}},
		{"Delete ignores its precondition", func(b *broken) {
			b.delete = func(s *memstore.Store[object], ctx context.Context, key controlloop.Key, _ controlloop.DeleteOptions) error {
				return s.Delete(ctx, key, controlloop.DeleteOptions{})
			}
		}, []string{"Delete", "Model"}},
		{"Create ignores a cancelled context", func(b *broken) {
			b.create = func(s *memstore.Store[object], ctx context.Context, obj object) (object, error) {
				return s.Create(context.WithoutCancel(ctx), obj)
			}
		}, []string{"CancelledContext"}},
		{"the first page ignores the limit", func(b *broken) {
			b.list = func(s *memstore.Store[object], ctx context.Context, opts controlloop.ListOptions) (controlloop.ListResult[object], error) {
				if opts.Continue == "" {
					opts.Limit = 0
				}
				return s.List(ctx, opts)
			}
		}, []string{"ListPages", "ListPagesConsistent", "ListBadInput"}},
		{"a negative limit lists everything", func(b *broken) {
			b.list = func(s *memstore.Store[object], ctx context.Context, opts controlloop.ListOptions) (controlloop.ListResult[object], error) {
				opts.Limit = max(opts.Limit, 0)
				return s.List(ctx, opts)
			}
		}, []string{"ListBadInput"}},
		{"an expired continue token lists again from the start", func(b *broken) {
			b.list = func(s *memstore.Store[object], ctx context.Context, opts controlloop.ListOptions) (controlloop.ListResult[object], error) {
				res, err := s.List(ctx, opts)
				if errors.Is(err, controlloop.ErrExpired) {
					opts.Continue = ""
					return s.List(ctx, opts)
				}
				return res, err
			}
		}, []string{"ListExpired"}},
		{"a watch from now replays history", func(b *broken) {
			b.watch = func(s *memstore.Store[object], ctx context.Context, opts controlloop.WatchOptions) (<-chan controlloop.Event[object], error) {
				if opts.ResourceVersion == "" {
					opts.ResourceVersion = "0"
				}
				return s.Watch(ctx, opts)
			}
		}, []string{"WatchFromNow"}},
		{"a watch from a malformed version watches from now", func(b *broken) {
			b.watch = func(s *memstore.Store[object], ctx context.Context, opts controlloop.WatchOptions) (<-chan controlloop.Event[object], error) {
				ch, err := s.Watch(ctx, opts)
				if errors.Is(err, controlloop.ErrInvalid) {
					opts.ResourceVersion, opts.Namespace = "", ""
					return s.Watch(ctx, opts)
				}
				return ch, err
			}
		}, []string{"WatchBadInput"}},
		{"Deleted events carry the version before the delete", editWatch(func(n int, ev controlloop.Event[object]) []controlloop.Event[object] {
			if ev.Type == controlloop.Deleted {
				prev, _ := strconv.Atoi(ev.ResourceVersion)
				ev.Object.ResourceVersion = strconv.Itoa(prev - 1)
			}
			return []controlloop.Event[object]{ev}
		}), []string{"WatchFromList", "WatchResume", "Model"}},
		{"a bookmark for every watch", func(b *broken) {
			requests := make(chan string, 1)
			b.progress = func(s *memstore.Store[object]) {
				select {
				case requests <- s.ResourceVersion():
				default:
				}
			}
			b.watch = func(s *memstore.Store[object], ctx context.Context, opts controlloop.WatchOptions) (<-chan controlloop.Event[object], error) {
				ch, err := s.Watch(ctx, opts)
				if err != nil || opts.AllowBookmarks {
					return ch, err
				}
				return relay(ch, requests, func(_ int, ev controlloop.Event[object]) []controlloop.Event[object] {
					return []controlloop.Event[object]{ev}
				}), nil
			}
		}, []string{"NoBookmarksUnasked"}},
		{"a bookmark at the version before the last change", func(b *broken) {
			b.watch = func(s *memstore.Store[object], ctx context.Context, opts controlloop.WatchOptions) (<-chan controlloop.Event[object], error) {
				ch, err := s.Watch(ctx, opts)
				if err != nil {
					return ch, err
				}
				return relay(ch, nil, func(_ int, ev controlloop.Event[object]) []controlloop.Event[object] {
					if ev.Type == controlloop.Bookmark {
						rv, _ := strconv.Atoi(ev.ResourceVersion)
						ev.ResourceVersion = strconv.Itoa(rv - 2)
					}
					return []controlloop.Event[object]{ev}
				}), nil
			}
		}, []string{"Bookmarks", "BookmarksDuringReplay"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // most of the time goes in waits that time out
			opts := options(memstore.Options{}, tt.breaking)
			opts.Timeout = time.Second // the rules that wait for a change it lost
			wantFailure(t, sourcetest.Check(opts), tt.rules...)
		})
	}
}
