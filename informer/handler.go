package informer

// Handler receives an informer's notifications. Each registered handler has
// its own buffer and goroutine: its methods are called from that goroutine,
// one at a time, in the order the changes happened. Objects are shared with
// the cache: a handler must not modify them.
type Handler[T any] interface {
	// OnAdd: obj appeared. inInitialList marks objects that were already
	// there when the handler started: from the first list, or, for a handler
	// added later, from the cache at that moment.
	OnAdd(obj T, inInitialList bool)
	// OnUpdate: obj changed from old to new. A resync delivers an update
	// with old and new at the same resource version, only to the handler
	// whose resync period is due (or whose Registration.Resync asked); a
	// relist that found an object unchanged does too, only to handlers
	// registered with HandlerOptions.ResyncOnRelist.
	OnUpdate(old, new T)
	// OnDelete: obj is gone; obj is its last known state. finalStateUnknown
	// means the deletion was inferred by a relist that no longer listed the
	// object: the informer missed the delete itself, and obj may be stale.
	OnDelete(obj T, finalStateUnknown bool)
}

// A RelistHandler is a [Handler] that is told of relists. For an unchanged
// object a relist found (delivered to a handler registered with
// HandlerOptions.ResyncOnRelist) the informer calls OnRelist(obj) instead
// of OnUpdate(obj, obj), so that the handler can tell a relist from a
// resync, which still comes as OnUpdate. A relist that found an object
// changed delivers OnUpdate(old, new), as a watch event would.
//
// OnRelistDone comes once the cache holds a relist's result and every
// notification of the relist has come before it: events may have been
// missed while the watch was down (an object created and deleted in the
// gap leaves no trace in the relist), so a handler may want to look again
// at what depends on this informer. It comes for every relist (after a
// watch expired or failed), even one that changed nothing, never for the
// initial list; several relists applied together come as one.
type RelistHandler[T any] interface {
	Handler[T]
	OnRelist(obj T)
	OnRelistDone()
}

// HandlerFuncs adapts functions to a [Handler]; a nil function ignores its
// notifications.
type HandlerFuncs[T any] struct {
	AddFunc    func(obj T, inInitialList bool)
	UpdateFunc func(old, new T)
	DeleteFunc func(obj T, finalStateUnknown bool)
}

var _ Handler[int] = HandlerFuncs[int]{}

// OnAdd calls AddFunc, if set.
func (f HandlerFuncs[T]) OnAdd(obj T, inInitialList bool) {
	if f.AddFunc != nil {
		f.AddFunc(obj, inInitialList)
	}
}

// OnUpdate calls UpdateFunc, if set.
func (f HandlerFuncs[T]) OnUpdate(old, new T) {
	if f.UpdateFunc != nil {
		f.UpdateFunc(old, new)
	}
}

// OnDelete calls DeleteFunc, if set.
func (f HandlerFuncs[T]) OnDelete(obj T, finalStateUnknown bool) {
	if f.DeleteFunc != nil {
		f.DeleteFunc(obj, finalStateUnknown)
	}
}

// FilteringHandler passes on the notifications of objects that Filter
// accepts, so that Handler sees only the objects it cares about, as if they
// were the only ones: an update that makes an object pass becomes an add,
// one that makes it fail becomes a delete.
type FilteringHandler[T any] struct {
	Filter  func(obj T) bool
	Handler Handler[T]
}

var _ Handler[int] = FilteringHandler[int]{}

// OnAdd passes the add on if obj passes.
func (f FilteringHandler[T]) OnAdd(obj T, inInitialList bool) {
	if f.Filter(obj) {
		f.Handler.OnAdd(obj, inInitialList)
	}
}

// OnUpdate passes on an update if both versions pass, an add if only the new
// one does, and a delete if only the old one does.
func (f FilteringHandler[T]) OnUpdate(old, new T) {
	switch oldIn, newIn := f.Filter(old), f.Filter(new); {
	case oldIn && newIn:
		f.Handler.OnUpdate(old, new)
	case newIn:
		f.Handler.OnAdd(new, false)
	case oldIn:
		f.Handler.OnDelete(old, false)
	}
}

// OnDelete passes the delete on if obj passes.
func (f FilteringHandler[T]) OnDelete(obj T, finalStateUnknown bool) {
	if f.Filter(obj) {
		f.Handler.OnDelete(obj, finalStateUnknown)
	}
}
