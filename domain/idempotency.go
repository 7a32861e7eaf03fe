package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// IdempotencyAggregate names the idempotency-claim aggregate in the event catalogue.
const IdempotencyAggregate = "idempotency"

// IdempotencyStream is the stream that holds the one claim of an idempotency key sent by
// a hospital. The key is hashed with the hospital id so that the stream name carries
// neither in clear text and two hospitals may use the same key independently.
func IdempotencyStream(hospitalID, key string) string {
	sum := sha256.Sum256([]byte(hospitalID + "|" + key))
	return "idem-" + hex.EncodeToString(sum[:])
}

// IdempotencyKeyClaimed records that a hospital's idempotency key was first used for a
// create command, and the id the server generated for the new aggregate. A retry of the
// create reads the claim and re-runs against the same id, where the aggregate stream's
// own key check returns the first result; so a retried create creates nothing new.
type IdempotencyKeyClaimed struct {
	HospitalID  string    `json:"hospitalId"`
	Operation   string    `json:"operation"` // e.g. "RegisterHospital": a key reused for another operation is refused
	AggregateID string    `json:"aggregateId"`
	ClaimedAt   time.Time `json:"claimedAt"`
}

// EventType implements Event.
func (IdempotencyKeyClaimed) EventType() string { return "IdempotencyKeyClaimed" }

func init() {
	Register[IdempotencyKeyClaimed](IdempotencyAggregate, 1, nil)
}

// IdempotencyClaim is the state of one claim stream: the operation and id the key was
// first claimed for, or the zero value while unclaimed.
type IdempotencyClaim struct {
	HospitalID  string
	Operation   string
	AggregateID string
}

// Exists reports whether the key has been claimed.
func (c IdempotencyClaim) Exists() bool { return c.AggregateID != "" }

// Evolve folds one event into the claim; only the first claim counts.
func (c IdempotencyClaim) Evolve(e Event) IdempotencyClaim {
	if e, ok := e.(IdempotencyKeyClaimed); ok && !c.Exists() {
		c = IdempotencyClaim{HospitalID: e.HospitalID, Operation: e.Operation, AggregateID: e.AggregateID}
	}
	return c
}

// ClaimIdempotencyKey claims a key for a create operation and the aggregate id it will
// create.
type ClaimIdempotencyKey struct {
	HospitalID  string
	Key         string
	Operation   string
	AggregateID string
	At          time.Time
}

// MaxIdempotencyKey is the longest idempotency key accepted, in bytes.
const MaxIdempotencyKey = 200

// DecideClaimIdempotencyKey records the claim when the key is unclaimed and returns no
// event when it was already claimed for the same operation (the caller then uses the
// claim's aggregate id). A key already claimed for another operation is a conflict.
func DecideClaimIdempotencyKey(c IdempotencyClaim, cmd ClaimIdempotencyKey) ([]Event, error) {
	if cmd.Key == "" || len(cmd.Key) > MaxIdempotencyKey {
		return nil, Errorf(CodeInvalidInput, "idempotency key must be 1 to %d bytes", MaxIdempotencyKey)
	}
	if c.Exists() {
		if c.Operation != cmd.Operation {
			return nil, Errorf(CodeConflict, "idempotency key was already used for a different operation (%s)", c.Operation).
				WithDetail("operation", c.Operation)
		}
		return nil, nil
	}
	if err := firstErr(
		required("operation", cmd.Operation, 100),
		ValidateID("aggregateId", cmd.AggregateID),
	); err != nil {
		return nil, err
	}
	if err := checkInstant("the claim's time", cmd.At); err != nil {
		return nil, err
	}
	return []Event{IdempotencyKeyClaimed{HospitalID: cmd.HospitalID, Operation: cmd.Operation,
		AggregateID: cmd.AggregateID, ClaimedAt: cmd.At}}, nil
}
