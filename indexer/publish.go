package indexer

// load returns the state for a reader: it publishes the writers' draft
// first, if there is one, so that a read sees every write that returned
// before it began.
func (ix *Indexer[T]) load() *state[T] {
	if ix.dirty.Load() {
		ix.mu.Lock()
		ix.lockedPublish()
		ix.mu.Unlock()
	}
	if s := ix.cur.Load(); s != nil {
		return s
	}
	ix.cur.CompareAndSwap(nil, &state[T]{defs: newDefs[T](), idx: make([]*node[*valueSet[T]], 1)})
	return ix.cur.Load()
}

// lockedPublish makes the draft, if any, the published state. Its edit
// token dies with it: later writes copy what they change.
func (ix *Indexer[T]) lockedPublish() {
	if ix.draft != nil {
		ix.draft.tok = nil
		ix.cur.Store(ix.draft)
		ix.draft = nil
	}
	ix.dirty.Store(false)
}

// lockedLatest returns the state writers see: the draft, if any.
func (ix *Indexer[T]) lockedLatest() *state[T] {
	if ix.draft != nil {
		return ix.draft
	}
	if s := ix.cur.Load(); s != nil {
		return s
	}
	s := &state[T]{defs: newDefs[T](), idx: make([]*node[*valueSet[T]], 1)}
	ix.cur.Store(s)
	return s
}

// lockedDraft returns the draft to change, starting one from the published
// state if needed, and marks it for publication.
//
// Writes between two reads thus change the draft's nodes in place, as a
// mutable map would; only the first write after a read copies the path it
// changes. A read publishes the draft in O(1).
func (ix *Indexer[T]) lockedDraft() *state[T] {
	if ix.draft == nil {
		s := *ix.lockedLatest()
		s.idx = append([]*node[*valueSet[T]](nil), s.idx...)
		s.tok = new(editToken)
		ix.draft = &s
	}
	ix.dirty.Store(true)
	return ix.draft
}
