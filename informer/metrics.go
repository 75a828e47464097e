package informer

// MetricsProvider creates the metrics of each informer that is given it in
// [Options]. Package metrics implements it for Prometheus.
type MetricsProvider interface {
	// ForInformer returns the metrics of the informer called name. health
	// reports, when called, the informer's [Health]; it is safe to call
	// from any goroutine at any time (a scrape, say), and takes a lock the
	// informer holds only briefly.
	ForInformer(name string, health func() Health) Metrics
}

// Metrics records the failures of one informer's source; what it is doing
// otherwise is read from its Health when needed.
type Metrics interface {
	// Failed: a list or a watch ended with err, which wraps one of
	// reflector.ErrList, reflector.ErrWatch and reflector.ErrStore (what
	// the watch error handler sees). It is called on the reflector's
	// goroutine before it backs off: it must be fast and must not block.
	Failed(err error)
}
