package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/medalliance/allianced/adapters/eventstore"
	httpapi "github.com/medalliance/allianced/adapters/http"
	"github.com/medalliance/allianced/projections"
)

// tokenCommand prints a bearer token signed with the service's HS256 secret (the one
// configured, or the one kept in the data directory), for local use and the demo.
func tokenCommand(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("allianced token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", envOr(getenv, "ALLIANCED_DATA", "./data"), "data directory holding the service's jwt-secret (env ALLIANCED_DATA)")
	secret := fs.String("jwt-secret", getenv("ALLIANCED_JWT_SECRET"), "HS256 secret (env ALLIANCED_JWT_SECRET); default: the data directory's")
	hospital := fs.String("hospital", "", "id of the caller's hospital or organisation (hid claim), required; an auditor names its quality-control centre or regulator")
	dept := fs.String("department", "", "department id (dept claim)")
	roles := fs.String("roles", "", "comma-separated roles: lead, member, auditor, admin")
	user := fs.String("user", "", "user id (sub claim), required")
	ttl := fs.Duration("ttl", 2*time.Hour, "lifetime of the token")
	issuer := fs.String("issuer", getenv("ALLIANCED_JWT_ISSUER"), "iss claim (env ALLIANCED_JWT_ISSUER)")
	audience := fs.String("audience", getenv("ALLIANCED_JWT_AUDIENCE"), "aud claim (env ALLIANCED_JWT_AUDIENCE)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errFlagHelp
		}
		return &usageError{err}
	}
	if *user == "" || *roles == "" || *hospital == "" {
		return &usageError{errors.New("--hospital, --user and --roles are required")}
	}
	if *ttl <= 0 || *ttl > 30*24*time.Hour {
		return &usageError{errors.New("--ttl must be between 0 and 720h")}
	}
	key, err := localKey(*secret, *data, "jwt-secret")
	if err != nil {
		return err
	}
	claims := httpapi.Claims{HospitalID: *hospital, DepartmentID: *dept, Roles: splitList(*roles),
		RegisteredClaims: jwt.RegisteredClaims{Subject: *user, Issuer: *issuer}}
	if *audience != "" {
		claims.Audience = jwt.ClaimStrings{*audience}
	}
	tok, err := httpapi.MintToken([]byte(key), claims, *ttl)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

// rebuildCommand rebuilds the views in a real Redis from the log, showing progress.
func rebuildCommand(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, _, err := parseConfig("allianced rebuild", args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return errFlagHelp
	}
	if err != nil {
		return &usageError{err}
	}
	if cfg.Redis == "" {
		return &usageError{errors.New("--redis is required: without it the views live in the serving process and are rebuilt at every start")}
	}
	log := newLogger(cfg, stderr)
	store, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer store.Close()
	rdb, stop, err := openRedis(ctx, cfg)
	if err != nil {
		return err
	}
	defer stop()
	defer rdb.Close()
	return projections.RebuildWithProgressBar(ctx, store, rdb, cfg.RedisPrefix, stderr)
}

// verifyCommand walks the log and checks every stream's hash chain.
func verifyCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, _, err := parseConfig("allianced verify", args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return errFlagHelp
	}
	if err != nil {
		return &usageError{err}
	}
	store, err := openStore(ctx, cfg, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	defer store.Close()
	rep, err := eventstore.Verify(ctx, store)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return err
	}
	if !rep.OK {
		return fmt.Errorf("%d breaks in the hash chains", len(rep.Breaks))
	}
	return nil
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
