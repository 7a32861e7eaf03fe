package storetest

import (
	"context"
	"testing"

	"github.com/medalliance/allianced/adapters/eventstore"
)

// CountEvents returns how many events the global log of st holds, for tests that check
// that a command appended exactly what it should (or nothing, on a retry).
func CountEvents(tb testing.TB, st eventstore.Store) int {
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
