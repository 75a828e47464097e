package reconcile

import (
	"context"
	"log/slog"
)

type reconcileInfoKey struct{}

// reconcileInfo is what a reconcile's context knows of it.
type reconcileInfo interface {
	idString() string
	logger() *slog.Logger
	reason() (Reason, bool)
	// wrote records a write the reconcile made (see TrackWrites).
	wrote(w write)
}

// ReconcileID returns the id of the reconcile that ctx belongs to, or "" if
// it belongs to none. Every reconcile has a new id; the same id in several
// log lines ties them to one reconcile.
func ReconcileID(ctx context.Context) string {
	if info, ok := ctx.Value(reconcileInfoKey{}).(reconcileInfo); ok {
		return info.idString()
	}
	return ""
}

// Logger returns the logger of the reconcile that ctx belongs to: the
// controller's logger with the controller's name, the request and the
// reconcile id. Outside a reconcile it returns slog.Default().
func Logger(ctx context.Context) *slog.Logger {
	if info, ok := ctx.Value(reconcileInfoKey{}).(reconcileInfo); ok {
		return info.logger()
	}
	return slog.Default()
}
