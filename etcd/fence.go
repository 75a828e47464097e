package etcd

// Fenced returns a view of s whose writes commit only while e leads. Each
// Create, Update, UpdateStatus and Delete is one transaction that also
// compares the create revision of the election key of e's term: if the term
// is over, etcd refuses the write and it fails with [ErrNotLeader], even if
// e has not noticed yet (a deposed leader learns of it late).
//
// The term is the one the write's context carries, if that context derives
// from a lead context returned by e.Lead (a reconcile running under it);
// otherwise e's current term. A write with neither fails with ErrNotLeader
// without reaching etcd. Reads and watches are not fenced.
func (s *Source[T]) Fenced(e *Elector) *Source[T] {
	c := *s
	c.fence = e
	return &c
}
