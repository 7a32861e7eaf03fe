package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeWalkthrough runs the README's curl walkthrough verbatim (but for the server's
// address and the prebuilt binary in place of "go run ./cmd/allianced") against a fresh
// server, so the README's promise that it "works as written" is checked on every run.
func TestReadmeWalkthrough(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the walkthrough needs %s, which is not installed (.ci/run installs it)", tool)
		}
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	script := walkthrough(t, string(readme))
	s := startServer(t, serverOptions{})

	// The walkthrough runs in the repository root, where "token" finds ./data/jwt-secret.
	dir := t.TempDir()
	if err := os.Symlink(s.dataDir, filepath.Join(dir, "data")); err != nil {
		t.Fatal(err)
	}
	script = strings.ReplaceAll(script, "http://localhost:8080", s.base)
	script = strings.ReplaceAll(script, "go run ./cmd/allianced", binary)
	cmd := exec.Command("bash", "-e", "-o", "pipefail", "-c", script)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("walkthrough failed: %v\n%s\nserver log:\n%s", err, out, s.out.String())
	}
	for _, want := range []string{`"status": "completed"`, `"PlanStepCompleted"`, `"ok": true`, `"responsibleHospitalId": "01`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("walkthrough output lacks %s:\n%s", want, out)
		}
	}
}

// walkthrough returns the shell block between the README's walkthrough markers.
func walkthrough(t *testing.T, readme string) string {
	t.Helper()
	_, rest, ok := strings.Cut(readme, "<!-- walkthrough:begin -->")
	block, _, ok2 := strings.Cut(rest, "<!-- walkthrough:end -->")
	if !ok || !ok2 {
		t.Fatal("README.md has no walkthrough:begin/end markers")
	}
	block = strings.TrimSpace(block)
	block = strings.TrimPrefix(block, "```sh")
	block = strings.TrimSuffix(block, "```")
	return block
}
