package embedded_test

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/adapters/eventstore/embedded"
	"github.com/oklog/ulid/v2"
)

// crashChildEnv, when set to a directory, turns the test binary into the crash child:
// it appends under load to the store in that directory until killed.
const crashChildEnv = "EMBEDDED_CRASH_CHILD_DIR"

// crashPayload is the data of every event the crash child writes: its append's id, its
// index in that append and the append's size, so the parent can spot a partial append.
type crashPayload struct {
	Append string `json:"a"`
	I      int    `json:"i"`
	N      int    `json:"n"`
	Pad    string `json:"pad"`
}

// ack is one acknowledged append as the child reported it.
type ack struct {
	stream string
	rev    uint64 // revision of the append's last event
	pos    uint64 // position of the append's last event
	n      int
	lastID [16]byte
}

// TestCrashRecovery kills a child process that appends under load with SIGKILL at random
// moments, then reopens the directory and checks that every acknowledged event is there,
// intact, and that the log has no gaps and no partial appends. The directory carries over
// between kills, so recovery of recovered stores is exercised too. CRASH_KILLS overrides
// the number of kills (default 20).
func TestCrashRecovery(t *testing.T) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	kills := 20
	if v, err := strconv.Atoi(os.Getenv("CRASH_KILLS")); err == nil && v > 0 {
		kills = v
	}
	dir := t.TempDir()
	var acked []ack
	for k := range kills {
		got := runAndKill(t, dir, k)
		acked = append(acked, got...)
		total := verifyDir(t, dir, acked, k == kills-1)
		t.Logf("kill %d: %d appends acknowledged in this run, log holds %d events", k+1, len(got), total)
	}
	if len(acked) == 0 {
		t.Fatalf("the child acknowledged nothing in %d runs: the test exercised no recovery", kills)
	}
}

// runAndKill starts the child on dir, kills it at a random moment, and returns the
// appends it acknowledged before dying.
func runAndKill(t *testing.T, dir string, k int) []ack {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashRecovery$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	var acks []ack
	var badLine string
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			if line == "ready" {
				close(ready)
				continue
			}
			// Each line is one write(2) of less than PIPE_BUF bytes, which a pipe
			// delivers whole, so a kill never cuts a line.
			a, ok := parseAck(line)
			if !ok {
				badLine = line
				continue
			}
			acks = append(acks, a)
		}
	}()
	// Every fourth run dies early, possibly while opening or recovering.
	if k%4 == 3 {
		time.Sleep(time.Duration(rand.IntN(40)) * time.Millisecond)
	} else {
		select {
		case <-ready:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("crash child did not become ready")
		}
		time.Sleep(time.Duration(20+rand.IntN(200)) * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill child: %v", err)
	}
	<-readDone
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("crash child exited on its own (%v) instead of being killed", err)
	}
	if badLine != "" {
		t.Fatalf("crash child printed a malformed line %q", badLine)
	}
	return acks
}

// parseAck parses "ack STREAM REV POS N IDHEX".
func parseAck(line string) (ack, bool) {
	f := strings.Fields(line)
	if len(f) != 6 || f[0] != "ack" {
		return ack{}, false
	}
	rev, err1 := strconv.ParseUint(f[2], 10, 64)
	pos, err2 := strconv.ParseUint(f[3], 10, 64)
	n, err3 := strconv.Atoi(f[4])
	id, err4 := hex.DecodeString(f[5])
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || len(id) != 16 {
		return ack{}, false
	}
	a := ack{stream: f[1], rev: rev, pos: pos, n: n}
	copy(a.lastID[:], id)
	return a, true
}

// verifyDir reopens dir and checks the log against the acknowledged appends; it returns
// the number of events in the log. With fullIndex it reads every stream through the
// index and compares it with the log, not only each stream's last event.
func verifyDir(t *testing.T, dir string, acked []ack, fullIndex bool) int {
	t.Helper()
	ctx := context.Background()
	s, err := embedded.Open(dir, embedded.Options{})
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close()
	head, err := s.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var log []eventstore.RecordedEvent
	for after := eventstore.Position(0); after < head; {
		page, err := s.ReadAll(ctx, after, 4096)
		if err != nil {
			t.Fatalf("read the log after %d: %v", after, err)
		}
		if len(page) == 0 {
			t.Fatalf("log ends at %d, head is %d", after, head)
		}
		for _, r := range page {
			if r.Position != after+1 {
				t.Fatalf("gap in the log: position %d follows %d", r.Position, after)
			}
			after = r.Position
			log = append(log, r)
		}
	}
	// Every event is intact, each stream's revisions run 0, 1, 2, ... in log order, and
	// every append is whole and contiguous.
	nextRev := map[string]uint64{}
	for i := 0; i < len(log); {
		r := log[i]
		var p crashPayload
		if err := json.Unmarshal(r.Data, &p); err != nil || p.I != 0 || p.N < 1 {
			t.Fatalf("position %d: payload %q does not start an append (%v)", r.Position, r.Data, err)
		}
		if i+p.N > len(log) {
			t.Fatalf("position %d: append %s of %d events is cut short by the end of the log", r.Position, p.Append, p.N)
		}
		for j := range p.N {
			e := log[i+j]
			var q crashPayload
			if err := json.Unmarshal(e.Data, &q); err != nil || q.Append != p.Append || q.I != j || e.Stream != r.Stream {
				t.Fatalf("position %d: expected event %d of append %s in %s, got %q in %s", e.Position, j, p.Append, r.Stream, e.Data, e.Stream)
			}
			if e.Version != nextRev[e.Stream] {
				t.Fatalf("position %d: %s revision %d, want %d", e.Position, e.Stream, e.Version, nextRev[e.Stream])
			}
			nextRev[e.Stream]++
		}
		i += p.N
	}
	for _, a := range acked {
		if a.pos == 0 || a.pos > uint64(len(log)) {
			t.Fatalf("acknowledged %s@%d at position %d is missing (log has %d events)", a.stream, a.rev, a.pos, len(log))
		}
		r := log[a.pos-1]
		if r.Stream != a.stream || r.Version != a.rev || r.ID != a.lastID {
			t.Fatalf("acknowledged %s@%d at %d (id %x); the log has %s@%d (id %x)", a.stream, a.rev, a.pos, a.lastID, r.Stream, r.Version, r.ID)
		}
	}
	// The stream index agrees with the log.
	for stream, n := range nextRev {
		recs, err := s.ReadStream(ctx, stream, eventstore.Backwards, eventstore.End, 1)
		if err != nil || len(recs) != 1 || recs[0].Version != n-1 {
			t.Fatalf("stream %s: last event by the index is %v (%v), the log says revision %d", stream, recs, err, n-1)
		}
	}
	if fullIndex {
		byStream := map[string][]eventstore.Position{}
		for _, r := range log {
			byStream[r.Stream] = append(byStream[r.Stream], r.Position)
		}
		for stream, want := range byStream {
			var got []eventstore.Position
			for from := uint64(0); ; {
				recs, err := s.ReadStream(ctx, stream, eventstore.Forwards, from, 4096)
				if err != nil {
					t.Fatalf("read %s: %v", stream, err)
				}
				for _, r := range recs {
					got = append(got, r.Position)
				}
				if len(recs) < 4096 {
					break
				}
				from = recs[len(recs)-1].Version + 1
			}
			if !slices.Equal(got, want) {
				t.Fatalf("stream %s through the index has %d events, the log %d (or at other positions)", stream, len(got), len(want))
			}
		}
	}
	return len(log)
}

// crashChild appends from many goroutines until killed, printing each acknowledged
// append. Half the goroutines own a stream (exact expected versions); the others share
// a few streams (any).
func crashChild(dir string) {
	s, err := embedded.Open(dir, embedded.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child: open:", err)
		os.Exit(2)
	}
	ctx := context.Background()
	var outMu sync.Mutex
	report := func(stream string, res eventstore.AppendResult, n int, id [16]byte) {
		line := fmt.Sprintf("ack %s %d %d %d %x\n", stream, res.Version, res.Position, n, id)
		outMu.Lock()
		os.Stdout.WriteString(line)
		outMu.Unlock()
	}
	pad := strings.Repeat("x", 300)
	const writers = 32
	for w := range writers {
		go func() {
			stream := fmt.Sprintf("own-%d", w)
			shared := w%2 == 1
			if shared {
				stream = fmt.Sprintf("shared-%d", w%3)
			}
			expected := eventstore.NoStream()
			if recs, err := s.ReadStream(ctx, stream, eventstore.Backwards, eventstore.End, 1); err == nil {
				expected = eventstore.Exact(recs[0].Version)
			}
			for i := 0; ; i++ {
				n := 1 + (w+i)%5
				appendID := ulid.Make().String()
				evs := make([]eventstore.EventData, n)
				for j := range evs {
					data, _ := json.Marshal(crashPayload{Append: appendID, I: j, N: n, Pad: pad})
					evs[j] = eventstore.EventData{ID: ulid.Make(), Type: "CrashTest", Data: data, Metadata: []byte(`{}`)}
				}
				exp := expected
				if shared {
					exp = eventstore.Any()
				}
				res, err := s.Append(ctx, stream, exp, evs)
				if err != nil {
					fmt.Fprintln(os.Stderr, "crash child: append:", err)
					os.Exit(3)
				}
				report(stream, res, n, evs[n-1].ID)
				expected = eventstore.Exact(res.Version)
			}
		}()
	}
	os.Stdout.WriteString("ready\n")
	select {}
}

// TestOpenInUseByAnotherProcess opens a directory that a running child process holds.
func TestOpenInUseByAnotherProcess(t *testing.T) {
	if os.Getenv(crashChildEnv) != "" {
		t.Skip("crash child")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashRecovery$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	// The child's writers may report acks before it prints "ready".
	sc := bufio.NewScanner(out)
	for sc.Scan() && sc.Text() != "ready" {
	}
	if sc.Text() != "ready" {
		t.Fatalf("child did not become ready: %v", sc.Err())
	}
	go func() {
		for sc.Scan() {
		}
	}()
	s, err := embedded.Open(dir, embedded.Options{})
	if err == nil {
		s.Close()
		t.Fatalf("opened %s while another process has it open", dir)
	}
	if !errors.Is(err, embedded.ErrInUse) || !strings.Contains(err.Error(), "data directory "+dir+" is in use by another allianced process") {
		t.Fatalf("open of a directory in use: got %q, want the in-use error", err)
	}
	if testing.Verbose() {
		t.Logf("error: %v", err)
	}
}
