package domain_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/medalliance/allianced/domain"
	"github.com/oklog/ulid/v2"
)

// spec is one given-events / when-command / then-events-or-error case for a Decide function.
type spec[C any] struct {
	name     string
	given    []domain.Event
	when     C
	want     []domain.Event // expected events when wantCode is empty
	wantCode domain.Code    // expected error code, or "" for success
}

// evolver is the state side of every aggregate.
type evolver[S any] interface{ Evolve(domain.Event) S }

// runSpecs folds the given events into a zero state, decides the command, and compares
// events or the error code. It also folds the produced events, so Evolve runs on every
// event each test produces.
func runSpecs[S evolver[S], C any](t *testing.T, decide func(S, C) ([]domain.Event, error), specs []spec[C]) {
	t.Helper()
	for _, tc := range specs {
		t.Run(tc.name, func(t *testing.T) {
			var s S
			for _, e := range tc.given {
				s = s.Evolve(e)
			}
			got, err := decide(s, tc.when)
			if tc.wantCode != "" {
				if code := domain.ErrorCode(err); code != tc.wantCode {
					t.Fatalf("got error %v (code %q), want code %q", err, code, tc.wantCode)
				}
				if len(got) != 0 {
					t.Fatalf("got events %#v alongside an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want events %#v", err, tc.want)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got events\n  %#v\nwant\n  %#v", got, tc.want)
			}
			for _, e := range got {
				s = s.Evolve(e)
			}
		})
	}
}

// id returns a deterministic ULID for test n, so expected events can name it.
func id(n byte) string {
	var u ulid.ULID
	u[0], u[15] = 1, n
	return u.String()
}

// t0 is the fixed instant test scenarios start from.
var t0 = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
