package app

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"strings"

	"github.com/medalliance/allianced/domain"
)

// Pseudonymizer turns a hospital's medical record number (MRN) into a PatientRef with
// a keyed hash (HMAC-SHA256), so events and views name a patient consistently without
// ever holding the MRN: without the key the reference cannot be reversed or guessed by
// hashing candidate MRNs. The clear MRN is never stored or logged.
type Pseudonymizer struct {
	key []byte
}

// MinPseudonymKey is the shortest HMAC key accepted, in bytes.
const MinPseudonymKey = 32

// NewPseudonymizer returns a Pseudonymizer keyed with key (at least 32 bytes, from the
// service's configuration; rotating it changes every reference).
func NewPseudonymizer(key []byte) (*Pseudonymizer, error) {
	if len(key) < MinPseudonymKey {
		return nil, domain.Errorf(domain.CodeInvalidInput, "the pseudonymization key must be at least %d bytes", MinPseudonymKey)
	}
	return &Pseudonymizer{key: append([]byte(nil), key...)}, nil
}

var lowerBase32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// PatientRef returns pr_ followed by the lowercase base32 of the first 20 bytes of
// HMAC-SHA256(key, hospitalID | MRN): 32 characters, matching the domain's
// ^pr_[0-9a-z]{26,64}$. The MRN is trimmed; an empty or over-long one is invalid input
// (the message does not repeat it).
func (p *Pseudonymizer) PatientRef(hospitalID, mrn string) (string, error) {
	if p == nil {
		return "", domain.Errorf(domain.CodeUnavailable, "patient pseudonymization is not configured")
	}
	mrn = strings.TrimSpace(mrn)
	if mrn == "" || len(mrn) > 128 {
		return "", domain.Errorf(domain.CodeInvalidInput, "medicalRecordNumber must be 1 to 128 characters")
	}
	if hospitalID == "" {
		return "", domain.Errorf(domain.CodeInvalidInput, "the hospital of the medical record number is required")
	}
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte(hospitalID))
	m.Write([]byte{0})
	m.Write([]byte(mrn))
	sum := m.Sum(nil)
	return "pr_" + lowerBase32.EncodeToString(sum[:20]), nil
}

// keyed returns the hex HMAC-SHA256, under the pseudonymization key, of label and data:
// a digest that cannot be recomputed from guesses without the key. label separates its
// uses from patient references.
func (p *Pseudonymizer) keyed(label, data string) string {
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte(label))
	m.Write([]byte{0})
	m.Write([]byte(data))
	return hex.EncodeToString(m.Sum(nil))
}
