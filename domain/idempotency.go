package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
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

// IdempotencyKeyClaimed records that a hospital's idempotency key was first used, and
// for which request. For a create command AggregateID is the id the server generated
// for the new aggregate: a retry of the create reads the claim and re-runs against the
// same id, where the aggregate stream's own key check returns the first result; so a
// retried create creates nothing new. For a command on an existing aggregate it is that
// aggregate's id.
//
// Fingerprint (schema version 2) identifies the request (operation, target and canonical
// body, as a keyed hash): a later request with the same key but another fingerprint is
// refused with idempotency_key_reused. Version-1 claims have none; they are honoured as
// before, by operation alone.
type IdempotencyKeyClaimed struct {
	HospitalID  string    `json:"hospitalId"`
	Operation   string    `json:"operation"` // e.g. "RegisterHospital": a key reused for another operation is refused
	AggregateID string    `json:"aggregateId"`
	Fingerprint string    `json:"fingerprint,omitempty"`
	ClaimedAt   time.Time `json:"claimedAt"`
}

// EventType implements Event.
func (IdempotencyKeyClaimed) EventType() string { return "IdempotencyKeyClaimed" }

func init() {
	Register[IdempotencyKeyClaimed](IdempotencyAggregate, 2, map[int]Upcaster{
		// Version 1 had no fingerprint: its payload reads as version 2 with an unknown
		// (empty) fingerprint, which DecideClaimIdempotencyKey treats as before.
		1: func(old json.RawMessage) (json.RawMessage, error) { return old, nil },
	})
}

// IdempotencyClaim is the state of one claim stream: the request the key was first
// claimed for, or the zero value while unclaimed.
type IdempotencyClaim struct {
	HospitalID  string
	Operation   string
	AggregateID string
	Fingerprint string // "" for a claim recorded before fingerprints (unknown)
}

// Exists reports whether the key has been claimed.
func (c IdempotencyClaim) Exists() bool { return c.AggregateID != "" }

// Evolve folds one event into the claim; only the first claim counts.
func (c IdempotencyClaim) Evolve(e Event) IdempotencyClaim {
	if e, ok := e.(IdempotencyKeyClaimed); ok && !c.Exists() {
		c = IdempotencyClaim{HospitalID: e.HospitalID, Operation: e.Operation, AggregateID: e.AggregateID, Fingerprint: e.Fingerprint}
	}
	return c
}

// ClaimIdempotencyKey claims a key for a request: its operation, the aggregate id it
// acts on (for a create, the id it will create) and its fingerprint ("" when unknown).
type ClaimIdempotencyKey struct {
	HospitalID  string
	Key         string
	Operation   string
	AggregateID string
	Fingerprint string
	At          time.Time
}

// MaxIdempotencyKey is the longest idempotency key accepted, in bytes.
const MaxIdempotencyKey = 200

// DecideClaimIdempotencyKey records the claim when the key is unclaimed and returns no
// event when it was already claimed for the same request (the caller then uses the
// claim's aggregate id). A key claimed for another request is refused with
// idempotency_key_reused: when both fingerprints are known they must be equal (they
// cover operation, target and body); when either is unknown (a claim from before
// fingerprints, or a caller that sends none) the operations must be equal, as before.
func DecideClaimIdempotencyKey(c IdempotencyClaim, cmd ClaimIdempotencyKey) ([]Event, error) {
	if cmd.Key == "" || len(cmd.Key) > MaxIdempotencyKey {
		return nil, Errorf(CodeInvalidInput, "idempotency key must be 1 to %d bytes", MaxIdempotencyKey)
	}
	if c.Exists() {
		if c.Operation != cmd.Operation {
			return nil, IdempotencyKeyReused(fmt.Sprintf("another operation (%s)", c.Operation)).WithDetail("operation", c.Operation)
		}
		if c.Fingerprint != "" && cmd.Fingerprint != "" && c.Fingerprint != cmd.Fingerprint {
			return nil, IdempotencyKeyReused("the same operation with another target or body")
		}
		return nil, nil
	}
	if err := firstErr(
		required("operation", cmd.Operation, 200),
		ValidateID("aggregateId", cmd.AggregateID),
		optional("fingerprint", cmd.Fingerprint, 128),
	); err != nil {
		return nil, err
	}
	if err := checkInstant("the claim's time", cmd.At); err != nil {
		return nil, err
	}
	return []Event{IdempotencyKeyClaimed{HospitalID: cmd.HospitalID, Operation: cmd.Operation,
		AggregateID: cmd.AggregateID, Fingerprint: cmd.Fingerprint, ClaimedAt: cmd.At}}, nil
}

// IdempotencyKeyReused is the error for a key sent again with another request; first
// says what the key was first used for, in words.
func IdempotencyKeyReused(first string) *Error {
	return Errorf(CodeIdempotencyKeyReused, "this Idempotency-Key was first used for %s; "+
		"a key stands for one request only (same operation, target and body), so send a new key for a new request", first)
}

// DeniesAuthority reports whether err says the caller may not do what it asked (it is
// forbidden, or its hospital is not an active member): the errors a replay of an
// idempotent request must still return, since the caller could not have sent it.
func DeniesAuthority(err error) bool {
	switch ErrorCode(err) {
	case CodeForbidden, CodeNotMember:
		return true
	}
	return false
}
