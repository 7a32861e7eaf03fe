package main

import (
	"bytes"
	"context"
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
	"time"
)

// buildBinary compiles ./cmd/allianced of the module that holds the working directory
// into dir and returns the binary's path.
func buildBinary(dir string) (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("run loadbench from inside the allianced module (go run ./cmd/loadbench)")
	}
	bin := filepath.Join(dir, "allianced")
	build := exec.Command("go", "build", "-o", bin, "./cmd/allianced")
	build.Dir = filepath.Dir(mod)
	if b, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/allianced: %v\n%s", err, b)
	}
	return bin, nil
}

// lockedBuffer collects a child process's output.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 4<<20 { // keep the last output bounded during long soaks
		b.buf.Reset()
	}
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// process is a child server: allianced or the baseline.
type process struct {
	name    string
	cmd     *exec.Cmd
	out     *lockedBuffer
	done    chan struct{}
	waitErr error
	base    string
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// startProcess runs bin with args, where args contain addr, and waits until GET
// readyPath answers 200.
func startProcess(name, bin, addr, readyPath string, args ...string) (*process, error) {
	p := &process{name: name, out: &lockedBuffer{}, done: make(chan struct{}), base: "http://" + addr}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return nil, fmt.Errorf("%s exited before it was ready (%v):\n%s", name, p.waitErr, p.out.String())
		default:
		}
		res, err := client.Get(p.base + readyPath)
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.stop()
	return nil, fmt.Errorf("%s not ready after 90s:\n%s", name, p.out.String())
}

// pid is the child's process id.
func (p *process) pid() int { return p.cmd.Process.Pid }

// stop sends SIGTERM and waits (up to 30 s, then kills).
func (p *process) stop() error {
	select {
	case <-p.done:
		return p.waitErr
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.waitErr
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s ignored SIGTERM for 30s and was killed", p.name)
	}
}

// startAllianced starts `allianced serve` on a free port with dataDir and extra flags.
func startAllianced(bin, dataDir string, extra ...string) (*process, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := append([]string{"serve", "--listen", addr, "--data", dataDir, "--log-format", "json"}, extra...)
	return startProcess("allianced", bin, addr, "/readyz", args...)
}

// startBaseline re-executes this program as the baseline server (echo + one go-redis GET)
// so that both servers compared are separate processes of their own.
func startBaseline(redisAddr string) (*process, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	return startProcess("baseline", self, addr, "/hello", "-serve-baseline", addr, "-redis-addr", redisAddr)
}

// mintToken runs `allianced token` against dataDir.
func mintToken(ctx context.Context, bin, dataDir, hospital, dept, user string, roles ...string) (string, error) {
	args := []string{"token", "--data", dataDir, "--hospital", hospital, "--user", user,
		"--roles", strings.Join(roles, ","), "--ttl", "4h"}
	if dept != "" {
		args = append(args, "--department", dept)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("allianced token: %v: %s", err, stderr.String())
	}
	return strings.TrimSpace(stdout.String()), nil
}

// rssKB reads VmRSS of a process from /proc, in KiB.
func rssKB(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			return strconv.ParseInt(f[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
