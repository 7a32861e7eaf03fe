package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/medalliance/allianced/adapters/app"
	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/adapters/eventstore/embedded"
	"github.com/medalliance/allianced/adapters/eventstore/kurrentdb"
	httpapi "github.com/medalliance/allianced/adapters/http"
	"github.com/medalliance/allianced/projections"
	"github.com/redis/go-redis/v9"
)

// Main is one running service: the event store, the views and their projector, the
// use cases, the reactor, the access log and the HTTP server. Open builds it, Run serves
// until its context ends, Close releases what Open acquired. e2e tests boot the binary;
// in-process tests can boot a Main on ":0".
type Main struct {
	cfg Config
	log *slog.Logger

	store     eventstore.Store
	rdb       *redis.Client
	stopRedis func() // the in-process Redis of the embedded default, if any

	projector *projections.Projector
	queries   *projections.Queries
	app       *app.App
	access    *app.AccessLog
	reactor   *app.Reactor
	escalator *app.CriticalEscalator
	slots     *app.SlotReconciler // releases reserved slots no referral holds (after a crash)
	api       *httpapi.Server

	ln     net.Listener
	server *http.Server
}

// openStore opens the configured event store: KurrentDB when a URL is given, else the
// embedded store in the data directory.
func openStore(ctx context.Context, cfg Config, log *slog.Logger) (eventstore.Store, error) {
	if cfg.KurrentDB != "" {
		s, err := kurrentdb.Open(ctx, cfg.KurrentDB, kurrentdb.Options{Logger: log.With("component", "kurrentdb")})
		if err != nil {
			return nil, fmt.Errorf("kurrentdb: %w", err)
		}
		return s, nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	return embedded.Open(cfg.DataDir, embedded.Options{})
}

// openRedis connects to the configured Redis, or starts the in-process one.
func openRedis(ctx context.Context, cfg Config) (*redis.Client, func(), error) {
	if cfg.Redis == "" {
		return projections.StartEmbedded()
	}
	opt, err := redis.ParseURL(cfg.Redis)
	if err != nil {
		return nil, nil, &usageError{fmt.Errorf("--redis %q: %w", cfg.Redis, err)}
	}
	opt.PoolSize = 256
	if !strings.Contains(cfg.Redis, "protocol=") {
		// RESP2 unless the URL asks otherwise: with RESP3 go-redis checks every pooled
		// connection for pending push messages before each command (6-10% of a plan
		// read's CPU); pub/sub runs on its own connections either way.
		opt.Protocol = 2
	}
	rdb := redis.NewClient(opt)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		rdb.Close()
		return nil, nil, fmt.Errorf("redis at %s: %w", opt.Addr, err)
	}
	return rdb, func() {}, nil
}

// Open builds the service from cfg; nothing is served until Run.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (_ *Main, err error) {
	m := &Main{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			m.Close()
		}
	}()
	jwtSecret, err := localKey(cfg.JWTSecret, cfg.DataDir, "jwt-secret")
	if err != nil {
		return nil, fmt.Errorf("jwt secret: %w", err)
	}
	pseudoKey, err := localKey(cfg.PseudonymKey, cfg.DataDir, "pseudonym-key")
	if err != nil {
		return nil, fmt.Errorf("pseudonym key: %w", err)
	}
	var publicKey []byte
	if cfg.JWTPublicKey != "" {
		if publicKey, err = os.ReadFile(cfg.JWTPublicKey); err != nil {
			return nil, fmt.Errorf("--jwt-public-key: %w", err)
		}
	}
	if m.store, err = openStore(ctx, cfg, log); err != nil {
		return nil, err
	}
	if m.rdb, m.stopRedis, err = openRedis(ctx, cfg); err != nil {
		return nil, err
	}
	pseudo, err := app.NewPseudonymizer([]byte(pseudoKey))
	if err != nil {
		return nil, err
	}
	m.app = app.New(app.Config{Store: m.store, Pseudonymizer: pseudo, DiagnosticPolicy: cfg.Diagnostic,
		ConsultPolicy: cfg.Policies.Consult, ReferralPolicy: cfg.Policies.Referral})
	m.projector = projections.NewProjector(m.store, m.rdb, projections.Options{
		Prefix: cfg.RedisPrefix, LeaseTTL: cfg.LeaseTTL, Logger: log.With("component", "projector")})
	m.queries = projections.NewQueries(m.rdb, projections.QueryOptions{
		Prefix: cfg.RedisPrefix, Timeout: cfg.WaitTimeout, Projector: m.projector, Logger: log.With("component", "queries")})
	m.access = app.NewAccessLog(m.store, app.AccessLogOptions{Logger: log.With("component", "access-log")})
	m.reactor = app.NewReactor(m.app, app.ReactorOptions{Logger: log.With("component", "reactor")})
	m.escalator = app.NewCriticalEscalator(m.app, app.EscalatorOptions{Every: cfg.CriticalCheckEvery, Logger: log.With("component", "critical-escalator")})
	m.slots = app.NewSlotReconciler(m.app, app.SlotReconcilerOptions{Grace: cfg.Policies.SlotHoldGrace,
		Every: cfg.Policies.SlotReconcileEvery, Logger: log.With("component", "slot-reconciler")})
	m.api, err = httpapi.New(httpapi.Config{
		Auth: httpapi.AuthConfig{HS256Secret: []byte(jwtSecret), PublicKeyPEM: publicKey,
			Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience},
		MaxBodyBytes:    cfg.MaxBodyBytes,
		BodyReadTimeout: cfg.BodyTimeout,
		ReadyMaxLag:     cfg.ReadyMaxLag,
		Logger:          log.With("component", "http"),
	}, httpapi.Deps{App: m.app, Store: m.store, Queries: m.queries, Lag: m.projector, Access: m.access})
	if err != nil {
		return nil, &usageError{err}
	}
	return m, nil
}

// Listen binds the HTTP listener (so a caller can learn the port of ":0" before Run).
func (m *Main) Listen() (net.Addr, error) {
	ln, err := net.Listen("tcp", m.cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", m.cfg.Listen, err)
	}
	m.ln = ln
	return ln.Addr(), nil
}

// Run serves until ctx ends, then shuts down gracefully: no new connections, event
// streams told to end, in-flight requests finished (bounded by the shutdown grace), the
// access log flushed, and only then the background workers stopped. Every acknowledged
// command was durable before it was acknowledged, so nothing acknowledged is lost.
func (m *Main) Run(ctx context.Context) error {
	if m.ln == nil {
		if _, err := m.Listen(); err != nil {
			return err
		}
	}
	bg, stopBG := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	worker := func(name string, run func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(bg); err != nil && !errors.Is(err, context.Canceled) {
				m.log.Error("worker stopped", "worker", name, "err", err)
				errs <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	worker("projector", m.projector.Run)
	worker("reactor", m.reactor.Run)
	worker("critical-escalator", m.escalator.Run)
	worker("access-log", m.access.Run)
	worker("slot-reconciler", m.slots.Run)

	// No ReadTimeout or WriteTimeout: both would end the plan's Server-Sent Events
	// streams. Headers are bounded here, bodies by the API's own per-request deadline
	// (--body-timeout), commands and queries by its request timeout.
	m.server = &http.Server{Handler: m.api.Handler(), ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(m.log.Handler(), slog.LevelWarn)}
	served := make(chan error, 1)
	go func() { served <- m.server.Serve(m.ln) }()
	m.log.Info("listening", "addr", m.ln.Addr().String(), "store", m.storeKind(), "views", m.viewsKind())

	var runErr error
	select {
	case <-ctx.Done():
		m.log.Info("shutting down", "grace", m.cfg.ShutdownGrace.String())
	case runErr = <-served:
	case runErr = <-errs:
	}
	m.api.Shutdown()
	sctx, cancel := context.WithTimeout(context.Background(), m.cfg.ShutdownGrace)
	defer cancel()
	if err := m.server.Shutdown(sctx); err != nil {
		m.log.Warn("in-flight requests did not finish in time", "err", err)
	}
	if err := m.access.Flush(sctx); err != nil {
		m.log.Warn("access log not fully written", "err", err)
	}
	stopBG()
	wg.Wait()
	if errors.Is(runErr, http.ErrServerClosed) {
		runErr = nil
	}
	return runErr
}

func (m *Main) storeKind() string {
	if m.cfg.KurrentDB != "" {
		return "kurrentdb"
	}
	return "embedded:" + m.cfg.DataDir
}

func (m *Main) viewsKind() string {
	if m.cfg.Redis != "" {
		return "redis"
	}
	return "in-process"
}

// Close releases everything Open acquired; it is safe on a partly opened Main.
func (m *Main) Close() error {
	var errs []error
	if m.queries != nil {
		errs = append(errs, m.queries.Close())
	}
	if m.rdb != nil {
		errs = append(errs, m.rdb.Close())
	}
	if m.stopRedis != nil {
		m.stopRedis()
	}
	if m.store != nil {
		errs = append(errs, m.store.Close())
	}
	return errors.Join(errs...)
}

// serveCommand runs "serve" and "demo".
func serveCommand(ctx context.Context, name string, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, _, err := parseConfig("allianced "+name, args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return errFlagHelp
	}
	if err != nil {
		return &usageError{err}
	}
	log := newLogger(cfg, stderr)
	m, err := Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer m.Close()
	addr, err := m.Listen()
	if err != nil {
		return err
	}
	if name == "demo" {
		sum, err := loadDemo(ctx, m.app, m.app.Now())
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		sum.Print(stdout, baseURL(addr), cfg.DataDir)
	}
	return m.Run(ctx)
}

// baseURL is how a local user reaches addr (a wildcard address becomes localhost).
func baseURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}
