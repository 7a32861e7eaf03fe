package eventstore

import (
	"runtime"
	"sync"

	"github.com/medalliance/allianced/domain"
)

// Decode reads a stored event's envelope and payload back into domain types.
//
// Both are decoded with unmarshalJSON, which gives encoding/json's exact result several
// times faster for the JSON the service writes (see fastjson.go).
func Decode(rec RecordedEvent) (domain.Envelope, domain.Event, error) {
	var env domain.Envelope
	if err := unmarshalJSON(rec.Metadata, &env); err != nil {
		return env, nil, domain.Errorf(domain.CodeInvalidInput, "event %s in %s: malformed envelope: %v", rec.Type, rec.Stream, err)
	}
	if env.SchemaVersion == 0 {
		env.SchemaVersion = 1
	}
	ev, err := DecodeEvent(rec.Type, env.SchemaVersion, rec.Data)
	return env, ev, err
}

// DecodeEvent is domain.DecodeEvent (registry, schema check, upcasters, coded errors)
// with the payload decoded by the fast decoder, for callers that read the envelope
// themselves or not at all.
func DecodeEvent(typ string, version int, data []byte) (domain.Event, error) {
	return domain.DecodeEventWith(typ, version, data, unmarshalJSON)
}

// Decoded is one record decoded by DecodeAll: its envelope and event, or the error
// Decode gave for it.
type Decoded struct {
	Envelope domain.Envelope
	Event    domain.Event
	Err      error
}

// decodeAllMin is the batch size from which DecodeAll spreads the work over goroutines;
// below it the hand-off costs more than it saves.
const decodeAllMin = 256

// DecodeAll decodes recs in order, out[i] being recs[i]'s result: bulk readers of the
// log (catch-up, rebuilds, audits) use it to decode a page on every processor at once.
// One record's error does not stop the others; each is in its Decoded.Err.
func DecodeAll(recs []RecordedEvent) []Decoded {
	out := make([]Decoded, len(recs))
	workers := min(runtime.GOMAXPROCS(0), len(recs)/decodeAllMin+1)
	if workers <= 1 {
		for i := range recs {
			out[i].Envelope, out[i].Event, out[i].Err = Decode(recs[i])
		}
		return out
	}
	chunk := (len(recs) + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < len(recs); lo += chunk {
		hi := min(lo+chunk, len(recs))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				out[i].Envelope, out[i].Event, out[i].Err = Decode(recs[i])
			}
		}()
	}
	wg.Wait()
	return out
}
