package domain_test

import (
	"testing"
	"time"

	"github.com/medalliance/allianced/domain"
)

func TestDecideClaimIdempotencyKey(t *testing.T) {
	const hosp, agg, other = "01JQ0000000000000000000H01", "01JQ0000000000000000000AG1", "01JQ0000000000000000000AG2"
	at := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	claim := func(op, fp string) domain.ClaimIdempotencyKey {
		return domain.ClaimIdempotencyKey{HospitalID: hosp, Key: "K", Operation: op, AggregateID: other, Fingerprint: fp, At: at}
	}
	claimed := func(op, fp string) domain.Event {
		return domain.IdempotencyKeyClaimed{HospitalID: hosp, Operation: op, AggregateID: agg, Fingerprint: fp, ClaimedAt: at}
	}
	complete, skip := "POST /v1/plans/:id/steps/:stepId/complete", "POST /v1/plans/:id/steps/:stepId/skip"
	runSpecs(t, domain.DecideClaimIdempotencyKey, []spec[domain.ClaimIdempotencyKey]{
		{name: "first use claims the key with its fingerprint", when: claim(complete, "f1"),
			want: []domain.Event{domain.IdempotencyKeyClaimed{HospitalID: hosp, Operation: complete, AggregateID: other, Fingerprint: "f1", ClaimedAt: at}}},
		{name: "the same request again: nothing new", given: []domain.Event{claimed(complete, "f1")}, when: claim(complete, "f1")},
		{name: "the same operation with another target or body is refused", given: []domain.Event{claimed(complete, "f1")},
			when: claim(complete, "f2"), wantCode: domain.CodeIdempotencyKeyReused},
		{name: "another operation is refused", given: []domain.Event{claimed(complete, "f1")},
			when: claim(skip, "f1"), wantCode: domain.CodeIdempotencyKeyReused},
		{name: "a claim without fingerprint (version 1) honours the same operation", given: []domain.Event{claimed("InitiatePlan", "")},
			when: claim("InitiatePlan", "f9")},
		{name: "a claim without fingerprint refuses another operation", given: []domain.Event{claimed("InitiatePlan", "")},
			when: claim("RequestConsult", "f9"), wantCode: domain.CodeIdempotencyKeyReused},
		{name: "a caller without fingerprint is judged by operation", given: []domain.Event{claimed("InitiatePlan", "f1")},
			when: claim("InitiatePlan", "")},
		{name: "an empty key is invalid", when: domain.ClaimIdempotencyKey{HospitalID: hosp, Operation: complete, AggregateID: agg, At: at},
			wantCode: domain.CodeInvalidInput},
	})
}

// TestIdempotencyKeyClaimedV1 reads a claim stored before fingerprints: it decodes with
// an unknown (empty) fingerprint.
func TestIdempotencyKeyClaimedV1(t *testing.T) {
	v1 := []byte(`{"hospitalId":"01JQ0000000000000000000H01","operation":"InitiatePlan","aggregateId":"01JQ0000000000000000000AG1","claimedAt":"2026-03-01T08:00:00Z"}`)
	ev, err := domain.DecodeEvent("IdempotencyKeyClaimed", 1, v1)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := ev.(domain.IdempotencyKeyClaimed)
	if !ok || c.Operation != "InitiatePlan" || c.AggregateID != "01JQ0000000000000000000AG1" || c.Fingerprint != "" {
		t.Fatalf("decoded %+v", ev)
	}
	if v, _ := domain.SchemaVersion("IdempotencyKeyClaimed"); v != 2 {
		t.Fatalf("schema version %d, want 2", v)
	}
}
