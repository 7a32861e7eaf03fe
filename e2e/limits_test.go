package e2e

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestBodyTimeoutAndPositionBeyondHead runs the binary with --body-timeout 500ms: a
// request body sent at a trickle is answered 408 and its connection closed at that
// deadline, and a read at a position the log has not reached is refused at once.
func TestBodyTimeoutAndPositionBeyondHead(t *testing.T) {
	s := startServer(t, serverOptions{Extra: []string{"--body-timeout", "500ms"}})
	admin := s.token("01JDADM1N00000000000000000", "", "it-admin", "admin")

	conn, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"name":"某医院","regionCode":"310101","level":"tertiary"}`
	fmt.Fprintf(conn, "POST /v1/hospitals HTTP/1.1\r\nHost: e2e\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		admin.Token, len(body), body[:5]) // the rest never comes
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a body that stopped arriving: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("got %d, want 408", res.StatusCode)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("answered after %s, want about the 500ms deadline", took)
	}

	r := s.command(&admin, "/v1/hospitals", map[string]any{"name": "某医院", "regionCode": "310101", "level": "tertiary"}, http.StatusCreated)
	s.get(&admin, after("/v1/hospitals", r.Position), nil)
	start = time.Now()
	s.refused(&admin, http.MethodGet, after("/v1/hospitals", r.Position+1_000_000), nil, http.StatusBadRequest, "position_beyond_head")
	if took := time.Since(start); took > time.Second {
		t.Errorf("position_beyond_head took %s, want at once", took)
	}
}
