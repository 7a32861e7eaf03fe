package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/medalliance/allianced/domain"
)

// Config is everything the service reads from flags and the environment. Every flag has
// an ALLIANCED_* environment variable so containers are configured without a command line;
// a flag given on the command line wins over the environment.
type Config struct {
	Listen        string
	DataDir       string
	KurrentDB     string // esdb:// URL; empty means the embedded store in DataDir
	Redis         string // redis:// URL; empty means in-process views rebuilt at start
	RedisPrefix   string
	JWTSecret     string // HS256 secret; empty means a random one kept in DataDir
	JWTPublicKey  string // PEM file of a hospital identity provider's public key (RS256/ES256)
	JWTIssuer     string
	JWTAudience   string
	PseudonymKey  string // HMAC key for patient references; empty means one kept in DataDir
	MaxBodyBytes  int64
	ReadyMaxLag   uint64        // /readyz fails when the views are more events than this behind
	WaitTimeout   time.Duration // read-your-writes bound
	BodyTimeout   time.Duration // how long a request body may take to arrive
	ShutdownGrace time.Duration
	LeaseTTL      time.Duration // how long a dead replica's projector lease blocks a standby
	LogFormat     string        // text or json
	// CriticalAck is how long a requesting hospital has to acknowledge a critical value
	// before it escalates; CriticalCheckEvery how often the timer looks (e2e tests shorten both).
	CriticalAck        time.Duration
	CriticalCheckEvery time.Duration
	// Diagnostic is the report turnaround policy per centre kind and urgency, with CriticalAck.
	Diagnostic domain.DiagnosticPolicy
	// Policies are the consult deadlines, referral targets and slot reconciliation (config_policy.go).
	Policies policyConfig
}

// setting is one flag with its environment variable and default.
type setting struct {
	name, env, def, usage string
}

var settings = []setting{
	{"listen", "ALLIANCED_LISTEN", ":8080", "address to serve HTTP on"},
	{"data", "ALLIANCED_DATA", "./data", "data directory of the embedded event store and local keys"},
	{"kurrentdb", "ALLIANCED_KURRENTDB", "", "KurrentDB connection string (esdb://host:2113?tls=false); empty: embedded store"},
	{"redis", "ALLIANCED_REDIS", "", "Redis URL for the views (redis://host:6379/0); empty: in-process views rebuilt at start"},
	{"redis-prefix", "ALLIANCED_REDIS_PREFIX", "allianced", "key prefix of the views, so environments can share one Redis"},
	{"jwt-secret", "ALLIANCED_JWT_SECRET", "", "HS256 secret for bearer tokens; empty: a random secret kept in the data directory"},
	{"jwt-public-key", "ALLIANCED_JWT_PUBLIC_KEY", "", "PEM file with an identity provider's public key (RS256/ES256 tokens)"},
	{"jwt-issuer", "ALLIANCED_JWT_ISSUER", "", "required token issuer (iss), if set"},
	{"jwt-audience", "ALLIANCED_JWT_AUDIENCE", "", "required token audience (aud), if set"},
	{"pseudonym-key", "ALLIANCED_PSEUDONYM_KEY", "", "HMAC key that turns record numbers into patient references; empty: kept in the data directory"},
	{"max-body", "ALLIANCED_MAX_BODY", "1048576", "largest request body accepted, in bytes"},
	{"ready-max-lag", "ALLIANCED_READY_MAX_LAG", "10000", "projection lag, in events, above which /readyz reports not ready"},
	{"wait-timeout", "ALLIANCED_WAIT_TIMEOUT", "2s", "how long a query with minPosition waits for the views"},
	{"body-timeout", "ALLIANCED_BODY_TIMEOUT", "30s", "how long a request body may take to arrive (a slower one is 408 and its connection closed)"},
	{"shutdown-grace", "ALLIANCED_SHUTDOWN_GRACE", "15s", "how long in-flight requests may take after SIGTERM"},
	{"lease-ttl", "ALLIANCED_LEASE_TTL", "10s", "projector lease: with several replicas on one Redis, a standby takes over this long after the writer died at most"},
	{"log-format", "ALLIANCED_LOG_FORMAT", "text", "log format: text or json"},
	{"critical-ack", "ALLIANCED_CRITICAL_ACK", "10m", "how long a hospital has to acknowledge a critical value (危急值) before it escalates (1s to 24h)"},
	{"critical-check-every", "ALLIANCED_CRITICAL_CHECK_EVERY", "5s", "how often the timer escalates critical values past their acknowledgement time"},
	{"diagnostic-targets", "ALLIANCED_DIAGNOSTIC_TARGETS", "", "report turnaround targets per centre kind, kind=emergency/urgent/routine comma-separated (e.g. ecg=15m/1h/24h); kinds not named keep the defaults"},
}

// parseConfig reads flags (args) over environment variables (getenv) over defaults.
func parseConfig(name string, args []string, getenv func(string) string, stderr io.Writer) (Config, *flag.FlagSet, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	vals := map[string]*string{}
	for _, s := range settings {
		def := s.def
		if v := getenv(s.env); v != "" {
			def = v
		}
		vals[s.name] = fs.String(s.name, def, s.usage+" (env "+s.env+")")
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, fs, err
	}
	c := Config{
		Listen: *vals["listen"], DataDir: *vals["data"], KurrentDB: *vals["kurrentdb"], Redis: *vals["redis"],
		RedisPrefix: *vals["redis-prefix"], JWTSecret: *vals["jwt-secret"], JWTPublicKey: *vals["jwt-public-key"],
		JWTIssuer: *vals["jwt-issuer"], JWTAudience: *vals["jwt-audience"], PseudonymKey: *vals["pseudonym-key"],
		LogFormat: *vals["log-format"],
	}
	var err error
	if c.MaxBodyBytes, err = strconv.ParseInt(*vals["max-body"], 10, 64); err != nil || c.MaxBodyBytes < 1024 {
		return c, fs, fmt.Errorf("--max-body %q: want a number of bytes >= 1024", *vals["max-body"])
	}
	if c.ReadyMaxLag, err = strconv.ParseUint(*vals["ready-max-lag"], 10, 64); err != nil || c.ReadyMaxLag == 0 {
		return c, fs, fmt.Errorf("--ready-max-lag %q: want a positive number of events", *vals["ready-max-lag"])
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"wait-timeout", &c.WaitTimeout}, {"body-timeout", &c.BodyTimeout}, {"shutdown-grace", &c.ShutdownGrace}, {"lease-ttl", &c.LeaseTTL},
		{"critical-ack", &c.CriticalAck}, {"critical-check-every", &c.CriticalCheckEvery}} {
		if *d.dst, err = time.ParseDuration(*vals[d.name]); err != nil || *d.dst <= 0 {
			return c, fs, fmt.Errorf("--%s %q: want a positive duration such as 5s", d.name, *vals[d.name])
		}
	}
	if c.CriticalAck < time.Second || c.CriticalAck > 24*time.Hour {
		return c, fs, fmt.Errorf("--critical-ack %q: want a duration from 1s to 24h", *vals["critical-ack"])
	}
	if c.Diagnostic, err = diagnosticPolicy(*vals["diagnostic-targets"], c.CriticalAck); err != nil {
		return c, fs, err
	}
	if err := parsePolicies(&c, vals); err != nil {
		return c, fs, err
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return c, fs, fmt.Errorf("--log-format %q: want text or json", c.LogFormat)
	}
	if c.RedisPrefix == "" || strings.ContainsAny(c.RedisPrefix, " \t\n") {
		return c, fs, fmt.Errorf("--redis-prefix %q: want a non-empty prefix without spaces", c.RedisPrefix)
	}
	return c, fs, nil
}

// localKey returns the key configured, or else the one kept in the data directory under
// file, creating it (32 random bytes, hex, mode 0600) on first use. This lets a new user
// start the service and mint tokens for it with no configuration, while no secret is
// ever committed to the repository.
func localKey(configured, dataDir, file string) (string, error) {
	if configured != "" {
		if len(configured) < 32 {
			return "", errors.New("a configured key must be at least 32 characters")
		}
		return configured, nil
	}
	path := filepath.Join(dataDir, file)
	if b, err := os.ReadFile(path); err == nil {
		if k := strings.TrimSpace(string(b)); len(k) >= 32 {
			return k, nil
		}
		return "", fmt.Errorf("%s is shorter than 32 characters: delete it to have a new key made", path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	k := hex.EncodeToString(raw)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) { // another process made it first
		return localKey("", dataDir, file)
	}
	if err != nil {
		return "", err
	}
	if _, err := f.WriteString(k + "\n"); err != nil {
		f.Close()
		return "", err
	}
	return k, f.Close()
}
