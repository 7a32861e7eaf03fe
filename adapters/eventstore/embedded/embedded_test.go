package embedded_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/adapters/eventstore/embedded"
	"github.com/medalliance/allianced/adapters/eventstore/storetest"
)

// mustOpen opens a store in a fresh directory and closes it when the test ends.
func mustOpen(tb testing.TB, dir string) *embedded.Store {
	tb.Helper()
	if dir == "" {
		dir = tb.TempDir()
	}
	s, err := embedded.Open(dir, embedded.Options{})
	if err != nil {
		tb.Fatalf("open %s: %v", dir, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return s
}

func TestContractFreshStores(t *testing.T) {
	storetest.Run(t, func(t *testing.T) eventstore.Store { return mustOpen(t, "") })
}

func TestContractSharedStore(t *testing.T) {
	shared := mustOpen(t, "")
	storetest.Run(t, func(*testing.T) eventstore.Store { return shared })
}

func TestSecondOpenFailsClearly(t *testing.T) {
	dir := t.TempDir()
	mustOpen(t, dir)
	s, err := embedded.Open(dir, embedded.Options{})
	if err == nil {
		s.Close()
		t.Fatalf("a second open of %s succeeded", dir)
	}
	if !errors.Is(err, embedded.ErrInUse) {
		t.Fatalf("second open: got %v, want it to wrap embedded.ErrInUse", err)
	}
	if want := "data directory " + dir + " is in use by another allianced process"; !strings.Contains(err.Error(), want) {
		t.Fatalf("second open: got %q, want it to say %q", err, want)
	}
}
