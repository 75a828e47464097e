package etcd

import (
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"
)

// ElectorOptions configure an [Elector].
type ElectorOptions struct {
	// Prefix names the election: every candidate of one election uses the
	// same prefix, under which each writes a key bound to its lease. A
	// trailing "/" is ignored. Required: there is no default, so that two
	// programs cannot share an election by accident.
	Prefix string
	// Identity is the value a candidate writes to its key, which
	// [Elector.Leader] reports. It is not a secret. Defaults to the host
	// name and the process ID, "host-1234".
	Identity string
	// TTL is the time to live of each candidate's lease: how long after a
	// leader stops renewing it (a crash, a partition) another candidate may
	// lead. A leader whose lease goes unrenewed for two thirds of it gives
	// up by itself, before etcd expires the lease. etcd counts it in whole
	// seconds, so it must be a whole number of seconds. Defaults to 10s.
	TTL time.Duration
	// Logger receives the elector's logs: terms won and lost at Info,
	// retried failures and leases it could not revoke at Warn. Defaults to
	// [slog.Default].
	Logger *slog.Logger
}

const defaultTTL = 10 * time.Second

func (o ElectorOptions) validate() error {
	if err := checkPrefix("ElectorOptions", o.Prefix); err != nil {
		return err
	}
	switch {
	case o.TTL < 0:
		return invalid("ElectorOptions.TTL", o.TTL, "must not be negative")
	case o.TTL%time.Second != 0:
		return invalid("ElectorOptions.TTL", o.TTL, "must be a whole number of seconds (etcd counts leases in seconds)")
	}
	return nil
}

func (o ElectorOptions) withDefaults() ElectorOptions {
	o.Prefix = strings.TrimRight(o.Prefix, "/")
	if o.Identity == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "unknown"
		}
		o.Identity = host + "-" + strconv.Itoa(os.Getpid())
	}
	if o.TTL == 0 {
		o.TTL = defaultTTL
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}
