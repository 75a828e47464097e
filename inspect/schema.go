package inspect

import "time"

// SchemaVersion is the version of the JSON document the handler serves
// at api/v1/state, in its schemaVersion field. A change that removes or
// renames a field, or changes a field's meaning, comes with a new version
// (and a new path); new fields may be added within a version.
const SchemaVersion = 1

// State is the JSON document of api/v1/state: what every registered
// controller and cache is doing at one moment. Keys are the only part of
// an object in it.
type State struct {
	SchemaVersion int          `json:"schemaVersion"`
	Time          time.Time    `json:"time"`
	Controllers   []Controller `json:"controllers"`
	Caches        []Cache      `json:"caches"`
}

// Controller is one controller: its queue's counts, its bindings' startup
// progress, and its keys as the filters select them.
type Controller struct {
	Name string `json:"name"`
	// Introspect: the controller keeps per-key states and reasons
	// (reconcile.Options.Introspect); without it Keys lists only the
	// queue's items, with no Last.
	Introspect bool      `json:"introspect"`
	Queue      Queue     `json:"queue"`
	Bindings   []Binding `json:"bindings"`
	Keys       []Key     `json:"keys"`
	// Truncated: more keys matched than Options.MaxKeys; Keys holds the
	// first MaxKeys.
	Truncated bool `json:"truncated"`
}

// Queue counts a controller's queue items by state.
type Queue struct {
	Queued     int `json:"queued"`
	Waiting    int `json:"waiting"`
	Processing int `json:"processing"`
}

// Binding is the startup state of one reconcile.Watch binding
// (reconcile.BindingStatus).
type Binding struct {
	Informer    string `json:"informer"`
	CacheSynced bool   `json:"cacheSynced"`
	Synced      bool   `json:"synced"` // the initial list is delivered
	Delivered   uint64 `json:"delivered"`
	Total       uint64 `json:"total"`
	TotalKnown  bool   `json:"totalKnown"`
	Pending     int    `json:"pending"`
}

// Key is one request: where it is in the queue, and its last reconcile.
// Queued keys come first, in hand-out order, then waiting ones by due
// time, then processing ones, then idle ones (no longer in the queue),
// most recently reconciled first.
type Key struct {
	Key       string `json:"key"`       // as fmt.Sprint spells the request: "ns/name"
	Namespace string `json:"namespace"` // "" for cluster-scoped keys and non-Key requests
	// State is "queued", "waiting", "processing" or "idle".
	State    string     `json:"state"`
	Priority int        `json:"priority"`
	ReadyAt  *time.Time `json:"readyAt,omitempty"` // waiting: when due
	Since    *time.Time `json:"since,omitempty"`   // queued: ready since; processing: started
	Requeued bool       `json:"requeued"`          // processing, and added again meanwhile
	Retries  int        `json:"retries"`           // rate-limited retries on record
	Last     *Reconcile `json:"last,omitempty"`    // the last reconcile, if remembered
}

// Reconcile is a key's last finished reconcile (reconcile.KeyState).
type Reconcile struct {
	ReconcileID string `json:"reconcileID"`
	// Reason spells out why it ran ("event update from Pod via owner");
	// ReasonLabel is its short form, as the reasons counter labels it.
	Reason      string    `json:"reason"`
	ReasonLabel string    `json:"reasonLabel"`
	Outcome     string    `json:"outcome"` // "success", "error", "requeue_after"
	Terminal    bool      `json:"terminal"`
	Error       string    `json:"error,omitempty"`
	Started     time.Time `json:"started"`
	Seconds     float64   `json:"seconds"` // how long it took
	Reconciles  int       `json:"reconciles"`
}

// Cache is one informer's cache.
type Cache struct {
	Name    string `json:"name"`
	Synced  bool   `json:"synced"`
	Healthy bool   `json:"healthy"` // not failing to list or watch its source
	Objects int    `json:"objects"`
}
