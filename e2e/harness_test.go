package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// binary is the path of the allianced binary built once by TestMain.
var binary string

// TestMain builds ./cmd/allianced into a temporary directory once for every test.
// E2E_ALLIANCED_BIN, when set, names a binary to test instead (e.g. a release build).
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if bin := os.Getenv("E2E_ALLIANCED_BIN"); bin != "" {
		binary = bin
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "allianced-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "allianced")
	build := exec.Command("go", "build", "-o", binary, "./cmd/allianced")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build ./cmd/allianced: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// syncBuffer collects a process's output while tests read it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// server is one running allianced process.
type server struct {
	t       testing.TB
	cmd     *exec.Cmd
	out     *syncBuffer
	exited  chan struct{}
	waitErr error
	base    string // http://127.0.0.1:PORT
	dataDir string
	args    []string // the serve flags, reused by restart
	sub     string   // the subcommand: serve or demo
	client  *http.Client
}

// serverOptions configures a server start.
type serverOptions struct {
	// Subcommand is "serve" (default) or "demo".
	Subcommand string
	// DataDir is the data directory (default: a new temporary one).
	DataDir string
	// Redis, when set, is passed as --redis with a unique --redis-prefix.
	Redis       string
	RedisPrefix string
	// Extra are further flags.
	Extra []string
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startServer starts allianced and waits until /readyz answers 200; the process is
// stopped (SIGTERM) when the test ends.
func startServer(t testing.TB, o serverOptions) *server {
	t.Helper()
	if o.Subcommand == "" {
		o.Subcommand = "serve"
	}
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	args := []string{"--data", o.DataDir}
	if o.Redis != "" {
		args = append(args, "--redis", o.Redis, "--redis-prefix", o.RedisPrefix)
	}
	args = append(args, o.Extra...)
	s := &server{t: t, dataDir: o.DataDir, args: args, sub: o.Subcommand,
		client: &http.Client{Timeout: 20 * time.Second}}
	s.start()
	t.Cleanup(func() {
		if s.running() {
			s.stop()
		}
	})
	return s
}

// start launches the process on a fresh port and waits for readiness.
func (s *server) start() {
	t := s.t
	t.Helper()
	port := freePort(t)
	s.base = "http://127.0.0.1:" + strconv.Itoa(port)
	args := append([]string{s.sub, "--listen", "127.0.0.1:" + strconv.Itoa(port)}, s.args...)
	s.cmd = exec.Command(binary, args...)
	s.out = &syncBuffer{}
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	s.cmd.Env = cleanEnv()
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start %s %v: %v", binary, args, err)
	}
	s.exited = make(chan struct{})
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	s.waitReady(60 * time.Second)
}

// cleanEnv is the test's environment without ALLIANCED_* variables, so a developer's
// shell settings cannot change what the tests start.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ALLIANCED_") {
			env = append(env, kv)
		}
	}
	return env
}

func (s *server) running() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// waitReady polls /readyz until it answers 200, failing with the process log if the
// process exits or the time runs out.
func (s *server) waitReady(limit time.Duration) {
	t := s.t
	t.Helper()
	deadline := time.Now().Add(limit)
	last := ""
	for time.Now().Before(deadline) {
		if !s.running() {
			t.Fatalf("allianced exited before it was ready (%v); output:\n%s", s.waitErr, s.out.String())
		}
		res, err := s.client.Get(s.base + "/readyz")
		if err == nil {
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				if !strings.Contains(s.out.String(), "listening") {
					t.Errorf("allianced is ready but logged no line containing %q; output:\n%s", "listening", s.out.String())
				}
				return
			}
			last = fmt.Sprintf("status %d: %s", res.StatusCode, body)
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("allianced not ready after %v (last /readyz: %s); output:\n%s", limit, last, s.out.String())
}

// stop sends SIGTERM and waits for a clean exit (status 0).
func (s *server) stop() {
	t := s.t
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
		t.Fatalf("allianced did not exit within 30s of SIGTERM; output:\n%s", s.out.String())
	}
	if s.waitErr != nil {
		t.Errorf("allianced exit after SIGTERM: got %v, want status 0; output:\n%s", s.waitErr, s.out.String())
	}
}

// restart stops the process with SIGTERM and starts it again on the same data directory.
func (s *server) restart() {
	s.t.Helper()
	s.stop()
	s.start()
}

// runCLI runs one allianced subcommand to completion and returns its stdout.
func runCLI(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = cleanEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("allianced %s: %v\nstderr:\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// user is a caller with its token: a hospital department acting under roles.
type user struct {
	Hospital, Department, Name string
	Roles                      []string
	Token                      string
}

// token mints a bearer token for a user with `allianced token` against the server's
// data directory (the key the server generated there).
func (s *server) token(hospital, department, name string, roles ...string) user {
	s.t.Helper()
	args := []string{"token", "--data", s.dataDir, "--hospital", hospital, "--user", name,
		"--roles", strings.Join(roles, ","), "--ttl", "2h"}
	if department != "" {
		args = append(args, "--department", department)
	}
	tok := strings.TrimSpace(runCLI(s.t, args...))
	if strings.Count(tok, ".") != 2 || strings.ContainsAny(tok, " \n") {
		s.t.Fatalf("allianced token printed %q, want one JWT", tok)
	}
	return user{Hospital: hospital, Department: department, Name: name, Roles: roles, Token: tok}
}

// response is one HTTP exchange's result.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// errBody is the JSON of an error response.
type errBody struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details"`
}

// cmdResult is the JSON of a successful command.
type cmdResult struct {
	ID          string `json:"id"`
	Version     uint64 `json:"version"`
	Position    uint64 `json:"position"`
	DeviationID string `json:"deviationId"`
}

// request sends method path with an optional JSON body and extra headers as u.
func (s *server) request(u *user, method, path string, body any, headers ...string) response {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Fatalf("encode body of %s %s: %v", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.base+path, rd)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if u != nil {
		req.Header.Set("Authorization", "Bearer "+u.Token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := s.client.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		s.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// tryPost sends a JSON POST as u and reports transport errors instead of failing the
// test, for requests racing a shutdown (safe to call from any goroutine).
func (s *server) tryPost(u *user, path string, body any) (int, []byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequest(http.MethodPost, s.base+path, bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+u.Token)
	res, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	return res.StatusCode, out, err
}

// command POSTs a command and checks the status is want (200 or 201) and returns the
// command result; the ETag header must carry the version.
func (s *server) command(u *user, path string, body any, want int, headers ...string) cmdResult {
	s.t.Helper()
	r := s.request(u, http.MethodPost, path, body, headers...)
	if r.Status != want {
		s.t.Fatalf("POST %s as %s: got status %d, want %d; body: %s", path, u.Name, r.Status, want, r.Body)
	}
	var out cmdResult
	if err := json.Unmarshal(r.Body, &out); err != nil {
		s.t.Fatalf("POST %s: body %s is not a command result: %v", path, r.Body, err)
	}
	if got, want := r.Header.Get("ETag"), `"`+strconv.FormatUint(out.Version, 10)+`"`; got != want {
		s.t.Errorf("POST %s: got ETag %q, want %q", path, got, want)
	}
	return out
}

// refused sends a request that must fail with status and error code.
func (s *server) refused(u *user, method, path string, body any, status int, code string, headers ...string) errBody {
	s.t.Helper()
	r := s.request(u, method, path, body, headers...)
	var e errBody
	_ = json.Unmarshal(r.Body, &e)
	if r.Status != status || e.Code != code {
		s.t.Fatalf("%s %s: got status %d code %q, want %d %q; body: %s", method, path, r.Status, e.Code, status, code, r.Body)
	}
	if e.Message == "" {
		s.t.Errorf("%s %s: error %q has no message", method, path, code)
	}
	return e
}

// get reads a JSON document with status 200 into out (a pointer), or a generic map
// when out is nil; it returns the decoded map as well for ad-hoc checks.
func (s *server) get(u *user, path string, out any) map[string]any {
	s.t.Helper()
	r := s.request(u, http.MethodGet, path, nil)
	if r.Status != http.StatusOK {
		s.t.Fatalf("GET %s: got status %d, want 200; body: %s", path, r.Status, r.Body)
	}
	if out != nil {
		if err := json.Unmarshal(r.Body, out); err != nil {
			s.t.Fatalf("GET %s: decode %s: %v", path, r.Body, err)
		}
	}
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	return m
}

// after appends ?minPosition= (read-your-writes) to path.
func after(path string, pos uint64) string {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + "minPosition=" + strconv.FormatUint(pos, 10)
}

// field walks a decoded JSON document along keys (object fields, or decimal indexes of
// arrays) and returns the value found, or nil.
func field(doc any, keys ...string) any {
	cur := doc
	for _, k := range keys {
		switch v := cur.(type) {
		case map[string]any:
			cur = v[k]
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(v) {
				return nil
			}
			cur = v[i]
		default:
			return nil
		}
	}
	return cur
}

// str returns field(doc, keys...) as a string ("" if absent or not a string).
func str(doc any, keys ...string) string {
	s, _ := field(doc, keys...).(string)
	return s
}

// num returns field(doc, keys...) as a number (-1 if absent or not a number).
func num(doc any, keys ...string) float64 {
	if n, ok := field(doc, keys...).(float64); ok {
		return n
	}
	return -1
}

// list returns field(doc, keys...) as an array.
func list(doc any, keys ...string) []any {
	l, _ := field(doc, keys...).([]any)
	return l
}

// newKey returns a fresh idempotency key.
func newKey() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "e2e-" + hex.EncodeToString(b[:])
}

// sseEvent is one Server-Sent Event.
type sseEvent struct {
	ID, Event, Data string
}

// subscribe opens an SSE stream as u and delivers its events on the channel until ctx
// ends. It waits for the response headers so that a change made after it returns is
// seen by the stream.
func (s *server) subscribe(ctx context.Context, u *user, path string) <-chan sseEvent {
	s.t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+path, nil)
	if err != nil {
		s.t.Fatalf("SSE %s: %v", path, err)
	}
	req.Header.Set("Authorization", "Bearer "+u.Token)
	req.Header.Set("Accept", "text/event-stream")
	res, err := (&http.Client{}).Do(req)
	if err != nil {
		s.t.Fatalf("SSE %s: %v", path, err)
	}
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		s.t.Fatalf("SSE %s: got status %d, want 200; body: %s", path, res.StatusCode, b)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		s.t.Errorf("SSE %s: got Content-Type %q, want text/event-stream", path, ct)
	}
	ch := make(chan sseEvent, 64)
	go func() {
		defer close(ch)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		var ev sseEvent
		var data []string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if len(data) > 0 || ev.Event != "" {
					ev.Data = strings.Join(data, "\n")
					select {
					case ch <- ev:
					case <-ctx.Done():
						return
					}
				}
				ev, data = sseEvent{}, nil
			case strings.HasPrefix(line, ":"):
			case strings.HasPrefix(line, "data:"):
				data = append(data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
			case strings.HasPrefix(line, "event:"):
				ev.Event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			case strings.HasPrefix(line, "id:"):
				ev.ID = strings.TrimSpace(strings.TrimPrefix(line, "id:"))
			}
		}
	}()
	return ch
}

// redisURL returns the URL of the shared Redis when one answers on 127.0.0.1:6379.
func redisURL() (string, bool) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", DialTimeout: 300 * time.Millisecond})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return "", false
	}
	return "redis://127.0.0.1:6379/0", true
}

// redisKeys returns the keys under prefix in the shared Redis.
func redisKeys(t testing.TB, prefix string) []string {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var keys []string
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatalf("scan Redis keys under %s: %v", prefix, err)
	}
	return keys
}

// cleanRedisPrefix deletes every key under prefix.
func cleanRedisPrefix(t testing.TB, prefix string) {
	t.Helper()
	keys := redisKeys(t, prefix)
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for len(keys) > 0 {
		n := min(len(keys), 500)
		if err := rdb.Del(ctx, keys[:n]...).Err(); err != nil {
			t.Errorf("clean Redis keys under %s: %v", prefix, err)
			return
		}
		keys = keys[n:]
	}
}
