package domain

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oklog/ulid/v2"
)

// Event is a fact that happened to one aggregate. Every concrete event is a plain struct
// with JSON tags, named in the past tense, and registered with its schema version.
type Event interface {
	// EventType is the stable type name stored with the event, e.g. "PlanHandedOver".
	EventType() string
}

// Actor says who caused an event: the hospital and department acting, the user, and the
// role under which they acted. It is recorded in every envelope for the audit trail.
type Actor struct {
	HospitalID   string `json:"hospitalId,omitempty"`
	DepartmentID string `json:"departmentId,omitempty"`
	UserID       string `json:"userId,omitempty"`
	Role         string `json:"role,omitempty"`
}

// Envelope is the metadata every stored event carries next to its payload. It is
// written once, at append, and never changed: the audit trail reads it back verbatim.
type Envelope struct {
	EventID        ulid.ULID `json:"eventId"`
	Type           string    `json:"type"`
	SchemaVersion  int       `json:"schemaVersion"`
	Stream         string    `json:"stream"`
	StreamVersion  uint64    `json:"streamVersion"` // 0-based revision of this event in its stream
	OccurredAt     time.Time `json:"occurredAt"`
	Actor          Actor     `json:"actor"`
	CorrelationID  string    `json:"correlationId,omitempty"`
	CausationID    string    `json:"causationId,omitempty"`
	IdempotencyKey string    `json:"idempotencyKey,omitempty"`
	// RequestFingerprint is the fingerprint of the request that sent IdempotencyKey (see
	// Meta); absent on events written before keys were bound to their requests, and on
	// events of internal callers.
	RequestFingerprint string `json:"requestFingerprint,omitempty"`
	// PrevHash is the hex SHA-256 of the stream's previous event (envelope and payload),
	// empty for the first event: altering or removing any event breaks the chain.
	PrevHash string `json:"prevHash,omitempty"`
}

// Upcaster rewrites the JSON payload of one schema version into the next version's
// shape, so events written by older code still decode into today's Go type.
type Upcaster func(old json.RawMessage) (json.RawMessage, error)

type registration struct {
	version   int
	typ       reflect.Type
	upcasters map[int]Upcaster // from version v to v+1
	aggregate string
}

var (
	registryMu sync.RWMutex
	registry   = map[string]registration{}
	// registrySnap is a copy of registry replaced whole on every Register, so the
	// decoding hot path looks types up without taking registryMu.
	registrySnap atomic.Pointer[map[string]registration]
)

// Register records event type E under its EventType name at the given current schema
// version. upcasters[v] turns a version-v payload into version v+1. Registering one
// name twice is a programming error and panics at start-up, never at run time.
func Register[E Event](aggregate string, version int, upcasters map[int]Upcaster) {
	var zero E
	t := reflect.TypeOf(zero)
	if t.Kind() == reflect.Pointer {
		panic("domain.Register: register the struct type, not a pointer: " + t.String())
	}
	name := zero.EventType()
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[name]; dup {
		panic("domain.Register: event type registered twice: " + name)
	}
	if version < 1 {
		panic("domain.Register: schema version must be >= 1: " + name)
	}
	registry[name] = registration{version: version, typ: t, upcasters: upcasters, aggregate: aggregate}
	snap := maps.Clone(registry)
	registrySnap.Store(&snap)
}

// EventTypes lists every registered event type name, sorted.
func EventTypes() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// EventCatalogue maps each aggregate name to the event types it records, sorted.
func EventCatalogue() map[string][]string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := map[string][]string{}
	for n, r := range registry {
		out[r.aggregate] = append(out[r.aggregate], n)
	}
	for _, v := range out {
		sort.Strings(v)
	}
	return out
}

// NewEventOfType returns a pointer to a zero value of the registered type (for tests
// and tools that need an instance of every event).
func NewEventOfType(name string) (Event, error) {
	registryMu.RLock()
	r, ok := registry[name]
	registryMu.RUnlock()
	if !ok {
		return nil, unknownType(name)
	}
	return reflect.New(r.typ).Elem().Interface().(Event), nil
}

// SchemaVersion returns the current schema version of a registered event type.
func SchemaVersion(name string) (int, error) {
	registryMu.RLock()
	r, ok := registry[name]
	registryMu.RUnlock()
	if !ok {
		return 0, unknownType(name)
	}
	return r.version, nil
}

func unknownType(name string) error {
	if len(name) > 80 {
		name = name[:80] + "..."
	}
	return Errorf(CodeInvalidInput, "unknown event type %q: this build does not know it", name).WithDetail("type", name)
}

// EncodeEvent returns the type name, current schema version and JSON payload of e.
func EncodeEvent(e Event) (typ string, version int, data []byte, err error) {
	if e == nil {
		return "", 0, nil, Errorf(CodeInternal, "cannot encode a nil event")
	}
	typ = e.EventType()
	version, err = SchemaVersion(typ)
	if err != nil {
		return "", 0, nil, err
	}
	data, err = json.Marshal(e)
	if err != nil {
		return "", 0, nil, fmt.Errorf("encode %s: %w", typ, err)
	}
	return typ, version, data, nil
}

// DecodeEvent turns a stored payload back into its Go event, upcasting it first when it
// was written under an older schema version. It never panics on bad input: an unknown
// type, a version from the future or malformed JSON is an error that says which.
func DecodeEvent(typ string, version int, data []byte) (Event, error) {
	return DecodeEventWith(typ, version, data, json.Unmarshal)
}

// DecodeEventWith is DecodeEvent with the final JSON step done by unmarshal, which is
// given the (upcast) payload and a pointer to a new zero value of the registered type.
// It lets adapters plug in a faster decoder without the domain importing one; unmarshal
// must follow encoding/json's semantics, return an error for bad input and never panic.
func DecodeEventWith(typ string, version int, data []byte, unmarshal func(data []byte, v any) error) (Event, error) {
	var r registration
	ok := false
	if snap := registrySnap.Load(); snap != nil {
		r, ok = (*snap)[typ]
	}
	if !ok {
		return nil, unknownType(typ)
	}
	if version < 1 || version > r.version {
		return nil, Errorf(CodeInvalidInput, "event %s has schema version %d; this build reads versions 1 to %d", typ, version, r.version)
	}
	raw := json.RawMessage(data)
	for v := version; v < r.version; v++ {
		up, ok := r.upcasters[v]
		if !ok {
			return nil, Errorf(CodeInvalidInput, "event %s: no upcaster from schema version %d", typ, v)
		}
		var err error
		if raw, err = up(raw); err != nil {
			return nil, Errorf(CodeInvalidInput, "event %s: upcasting from version %d: %v", typ, v, err)
		}
	}
	ptr := reflect.New(r.typ)
	if err := unmarshal(raw, ptr.Interface()); err != nil {
		return nil, Errorf(CodeInvalidInput, "event %s: malformed payload: %v", typ, err)
	}
	return ptr.Elem().Interface().(Event), nil
}
