package app_test

import (
	"testing"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/adapters/eventstore/embedded"
	"github.com/medalliance/allianced/adapters/eventstore/embedded/embeddedtest"
	"github.com/medalliance/allianced/adapters/eventstore/storetest"
)

// mustOpenStore opens an embedded event store in a temporary directory (embeddedtest).
func mustOpenStore(tb testing.TB) *embedded.Store { return embeddedtest.Open(tb) }

// countEvents returns how many events the global log holds (storetest.CountEvents).
func countEvents(tb testing.TB, st eventstore.Store) int { return storetest.CountEvents(tb, st) }
