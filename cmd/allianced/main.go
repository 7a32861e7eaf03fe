// Command allianced is the specialist-alliance coordination service: one binary that
// serves the HTTP API (serve), loads a realistic demo and serves it (demo), mints tokens
// for local use (token) and rebuilds the Redis views from the log (rebuild).
//
// With no configuration it runs on an embedded default: the event log in ./data (Pebble)
// and the views in an in-process Redis-protocol server rebuilt from the log at start.
// With --kurrentdb and --redis it runs against KurrentDB and a real Redis.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

const usage = `allianced: the specialist-alliance coordination service

Usage:
  allianced serve   [flags]   serve the HTTP API (default: embedded store in ./data, port 8080)
  allianced demo    [flags]   load the built-in demo scenario (once), then serve
  allianced token   [flags]   print a bearer token for local use
  allianced rebuild [flags]   rebuild the Redis views from the log, with progress
  allianced verify  [flags]   check every stream's hash chain; exit 1 on a break

Run "allianced COMMAND -h" for a command's flags. Every flag has an ALLIANCED_* env variable.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run executes one subcommand and returns the process exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve", "demo":
		err = serveCommand(ctx, cmd, args, getenv, stdout, stderr)
	case "token":
		err = tokenCommand(args, getenv, stdout, stderr)
	case "rebuild":
		err = rebuildCommand(ctx, args, getenv, stderr)
	case "verify":
		err = verifyCommand(ctx, args, getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "allianced: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err == nil || errors.Is(err, errFlagHelp) {
		return 0
	}
	var usageErr *usageError
	if errors.As(err, &usageErr) {
		fmt.Fprintf(stderr, "allianced %s: %v\n", cmd, err)
		return 2
	}
	fmt.Fprintf(stderr, "allianced %s: %v\n", cmd, err)
	return 1
}

// usageError is a bad command line (exit code 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

var errFlagHelp = errors.New("help requested")

// newLogger returns the process's structured logger in the configured format.
func newLogger(cfg Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
