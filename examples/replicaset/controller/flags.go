package controller

import (
	"errors"
	"flag"
	"log/slog"
	"os"
)

// Flags are the command-line settings that the example's commands (on the
// in-memory store and on etcd) share.
type Flags struct {
	Replicas int
	Workers  int
	Verbose  bool
}

// Register defines -replicas, -workers and -v on fs.
func (f *Flags) Register(fs *flag.FlagSet) {
	fs.IntVar(&f.Replicas, "replicas", 2, "replicas to start with (the scenario then scales to one more, and down to 1)")
	f.RegisterRun(fs)
}

// RegisterRun defines -workers and -v on fs, for a command whose
// -replicas means something else (it registers its own).
func (f *Flags) RegisterRun(fs *flag.FlagSet) {
	fs.IntVar(&f.Workers, "workers", 1, "workers per controller")
	fs.BoolVar(&f.Verbose, "v", false, "debug logs from the library")
}

// Check refuses values the example cannot run with.
func (f *Flags) Check() error {
	if f.Replicas < 1 || f.Workers < 1 {
		return errors.New("-replicas and -workers must be at least 1")
	}
	return nil
}

// Logger returns the library's logger: warnings and errors on stderr, or
// everything down to debug with -v.
func (f *Flags) Logger() *slog.Logger {
	level := slog.LevelWarn
	if f.Verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}
