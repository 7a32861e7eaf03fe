// Package embeddedtest gives tests of other packages an embedded event store in a
// temporary directory, so each test package does not write its own opener.
package embeddedtest

import (
	"testing"

	"github.com/medalliance/allianced/adapters/eventstore/embedded"
)

// Open opens an embedded (Pebble) event store in a temporary directory of tb, closed
// when the test ends.
func Open(tb testing.TB) *embedded.Store {
	tb.Helper()
	st, err := embedded.Open(tb.TempDir(), embedded.Options{MemTableSize: 4 << 20})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	return st
}
