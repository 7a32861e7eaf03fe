package eventstore

import (
	"context"

	"github.com/medalliance/allianced/domain"
)

// ChainBreak is one place where a stream's history does not verify.
type ChainBreak struct {
	Stream   string `json:"stream"`
	Version  uint64 `json:"version"`
	Position uint64 `json:"position"`
	Problem  string `json:"problem"`
}

// VerifyReport is the outcome of walking the whole log.
type VerifyReport struct {
	OK      bool         `json:"ok"`
	Events  uint64       `json:"events"`
	Streams int          `json:"streams"`
	Head    uint64       `json:"head"`
	Breaks  []ChainBreak `json:"breaks"` // at most maxBreaks
}

const maxBreaks = 1000

// verifyPage is how many events Verify reads from the log at a time.
const verifyPage = 1000

// Verify walks the whole log once and checks, per stream, that revisions follow each
// other from 0, that each envelope's PrevHash is the ChainHash of the stream's previous
// event (empty for the first), and that the envelope names its own stream, revision and
// type. Altering, removing or reordering any stored event shows up as a break. Memory
// grows with the number of streams (one revision and hash each), not with the log.
func Verify(ctx context.Context, store Store) (VerifyReport, error) {
	type tip struct {
		version uint64
		hash    string
	}
	tips := map[string]tip{}
	rep := VerifyReport{Breaks: []ChainBreak{}}
	after := Position(0)
	for {
		recs, err := store.ReadAll(ctx, after, verifyPage)
		if err != nil {
			return rep, err
		}
		for _, rec := range recs {
			rep.Events++
			var env domain.Envelope
			problem := ""
			if err := unmarshalJSON(rec.Metadata, &env); err != nil {
				problem = "malformed envelope"
			}
			t, seen := tips[rec.Stream]
			switch {
			case problem != "":
			case !seen && rec.Version != 0:
				problem = "the stream does not start at revision 0"
			case seen && rec.Version != t.version+1:
				problem = "a revision is missing before this event"
			case env.PrevHash != t.hash:
				problem = "prevHash does not match the hash of the stream's previous event"
			case env.Stream != rec.Stream || env.StreamVersion != rec.Version || env.Type != rec.Type:
				problem = "the envelope does not name this event's stream, revision and type"
			}
			if problem != "" && len(rep.Breaks) < maxBreaks {
				rep.Breaks = append(rep.Breaks, ChainBreak{Stream: rec.Stream, Version: rec.Version, Position: uint64(rec.Position), Problem: problem})
			}
			tips[rec.Stream] = tip{version: rec.Version, hash: ChainHash(rec.Metadata, rec.Data)}
			after = rec.Position
		}
		if len(recs) < verifyPage {
			break
		}
	}
	rep.Streams, rep.Head, rep.OK = len(tips), uint64(after), len(rep.Breaks) == 0
	return rep, nil
}
