package app_test

import (
	"context"
	"testing"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/adapters/eventstore/embedded"
)

// mustOpenStore opens an embedded (Pebble) event store in a temporary directory,
// closed when the test ends.
func mustOpenStore(tb testing.TB) *embedded.Store {
	tb.Helper()
	st, err := embedded.Open(tb.TempDir(), embedded.Options{MemTableSize: 4 << 20})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	return st
}

// countEvents returns how many events the global log holds.
func countEvents(tb testing.TB, st eventstore.Store) int {
	tb.Helper()
	n, after := 0, eventstore.Position(0)
	for {
		recs, err := st.ReadAll(context.Background(), after, 1000)
		if err != nil {
			tb.Fatal(err)
		}
		n += len(recs)
		if len(recs) < 1000 {
			return n
		}
		after = recs[len(recs)-1].Position
	}
}
