package eventstore

import (
	"encoding/json"

	"github.com/medalliance/allianced/domain"
)

// Decode reads a stored event's envelope and payload back into domain types.
func Decode(rec RecordedEvent) (domain.Envelope, domain.Event, error) {
	var env domain.Envelope
	if err := json.Unmarshal(rec.Metadata, &env); err != nil {
		return env, nil, domain.Errorf(domain.CodeInvalidInput, "event %s in %s: malformed envelope: %v", rec.Type, rec.Stream, err)
	}
	if env.SchemaVersion == 0 {
		env.SchemaVersion = 1
	}
	ev, err := domain.DecodeEvent(rec.Type, env.SchemaVersion, rec.Data)
	return env, ev, err
}
