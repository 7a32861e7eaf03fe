package embedded

import (
	"encoding/binary"
	"hash/crc32"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
)

// Key prefixes: one byte that names the key family (see the package doc).
const (
	prefixLog    = 'l' // 'l' | position (8, big-endian)                     -> record
	prefixIndex  = 's' // 's' | len(stream) (2, BE) | stream | revision (8, BE) -> position (8, BE)
	prefixMark   = 'w' // 'w' "watermark" -> last indexed position (8, BE), in the index
	prefixFormat = 'f' // 'f' "format"                                          -> format version (1 byte)
)

// formatVersion is the version of the key layout and record encoding written by this code.
const formatVersion = 1

// Limits on what one append may carry; they keep the fixed-width header fields honest.
const (
	maxStreamLen  = 1024
	maxTypeLen    = 1 << 10
	maxFieldLen   = 16 << 20 // data or metadata of one event
	maxAppendSize = 64 << 20 // all records of one append
)

// Record layout (all integers big-endian):
//
//	off  size
//	0    1    record format (1)
//	1    4    CRC-32C of bytes [5:]
//	5    16   event id
//	21   8    revision in its stream
//	29   2    stream length S
//	31   2    type length T
//	33   4    metadata length M
//	37   4    data length D
//	41        stream (S) | type (T) | metadata (M) | data (D)
const (
	recHeaderLen = 41
	recOffCRC    = 1
	recOffID     = 5
	recOffRev    = 21
	recOffLens   = 29
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

var (
	formatKey    = []byte{prefixFormat, 'f', 'o', 'r', 'm', 'a', 't'}
	watermarkKey = []byte{prefixMark, 'w', 'a', 't', 'e', 'r', 'm', 'a', 'r', 'k'}
)

// logKey is the key of the event at position pos in the global log.
func logKey(pos uint64) []byte {
	k := make([]byte, 9)
	k[0] = prefixLog
	binary.BigEndian.PutUint64(k[1:], pos)
	return k
}

// streamPrefix is the common prefix of every index key of stream; its length prefix
// keeps one stream's keys apart from a stream whose name extends it.
func streamPrefix(dst []byte, stream string) []byte {
	dst = append(dst, prefixIndex, byte(len(stream)>>8), byte(len(stream)))
	return append(dst, stream...)
}

// indexKey is the key of stream's event at revision rev.
func indexKey(dst []byte, stream string, rev uint64) []byte {
	return binary.BigEndian.AppendUint64(streamPrefix(dst, stream), rev)
}

// encodeRecord builds an event's record with its revision left 0 and no CRC: the
// writer fills both in (sealRecord) once it has checked the expected version.
func encodeRecord(stream string, ev eventstore.EventData) []byte {
	n := recHeaderLen + len(stream) + len(ev.Type) + len(ev.Metadata) + len(ev.Data)
	b := make([]byte, recHeaderLen, n)
	b[0] = formatVersion
	copy(b[recOffID:], ev.ID[:])
	binary.BigEndian.PutUint16(b[recOffLens:], uint16(len(stream)))
	binary.BigEndian.PutUint16(b[recOffLens+2:], uint16(len(ev.Type)))
	binary.BigEndian.PutUint32(b[recOffLens+4:], uint32(len(ev.Metadata)))
	binary.BigEndian.PutUint32(b[recOffLens+8:], uint32(len(ev.Data)))
	b = append(b, stream...)
	b = append(b, ev.Type...)
	b = append(b, ev.Metadata...)
	return append(b, ev.Data...)
}

// sealRecord sets the record's revision and checksum.
func sealRecord(rec []byte, rev uint64) {
	binary.BigEndian.PutUint64(rec[recOffRev:], rev)
	binary.BigEndian.PutUint32(rec[recOffCRC:], crc32.Checksum(rec[recOffID:], crcTable))
}

// decoder turns stored records into RecordedEvents for one read. It copies what it
// keeps (Pebble reuses the value buffers): payloads go into shared slabs, and stream and
// type names repeat, so each distinct one is allocated once per read.
type decoder struct {
	slab    []byte
	strings map[string]string
}

const slabSize = 64 << 10

// intern returns b as a string, allocating only the first time it is seen.
func (d *decoder) intern(b []byte) string {
	if s, ok := d.strings[string(b)]; ok {
		return s
	}
	if d.strings == nil {
		d.strings = map[string]string{}
	}
	s := string(b)
	if len(d.strings) < 4096 {
		d.strings[s] = s
	}
	return s
}

// decode checks a record's checksum and layout and returns its event.
func (d *decoder) decode(pos uint64, value []byte) (eventstore.RecordedEvent, error) {
	if len(value) < recHeaderLen || value[0] != formatVersion {
		return eventstore.RecordedEvent{}, corrupt(pos, "short record or unknown record format")
	}
	if crc32.Checksum(value[recOffID:], crcTable) != binary.BigEndian.Uint32(value[recOffCRC:]) {
		return eventstore.RecordedEvent{}, corrupt(pos, "checksum mismatch")
	}
	s := int(binary.BigEndian.Uint16(value[recOffLens:]))
	t := int(binary.BigEndian.Uint16(value[recOffLens+2:]))
	m := int(binary.BigEndian.Uint32(value[recOffLens+4:]))
	n := int(binary.BigEndian.Uint32(value[recOffLens+8:]))
	if recHeaderLen+s+t+m+n != len(value) {
		return eventstore.RecordedEvent{}, corrupt(pos, "field lengths do not add up")
	}
	body := value[recHeaderLen:]
	rec := eventstore.RecordedEvent{
		Stream:   d.intern(body[:s]),
		Version:  binary.BigEndian.Uint64(value[recOffRev:]),
		Position: eventstore.Position(pos),
		Type:     d.intern(body[s : s+t]),
	}
	copy(rec.ID[:], value[recOffID:])
	if m+n > len(d.slab) {
		d.slab = make([]byte, max(slabSize, m+n))
	}
	payload := d.slab[: m+n : m+n]
	d.slab = d.slab[m+n:]
	copy(payload, body[s+t:])
	rec.Metadata, rec.Data = payload[:m:m], payload[m:]
	return rec, nil
}

func corrupt(pos uint64, why string) error {
	return domain.Errorf(domain.CodeInternal, "embedded event store: corrupt record at position %d: %s", pos, why)
}

// validateAppend checks an append's stream and events fit the key and record layout.
func validateAppend(stream string, events []eventstore.EventData) error {
	switch {
	case stream == "":
		return domain.Errorf(domain.CodeInvalidInput, "stream name is empty")
	case len(stream) > maxStreamLen:
		return domain.Errorf(domain.CodeInvalidInput, "stream name is %d bytes long; the limit is %d", len(stream), maxStreamLen)
	case len(events) == 0:
		return domain.Errorf(domain.CodeInvalidInput, "append to %s has no events", stream)
	}
	total := 0
	for i, ev := range events {
		switch {
		case ev.Type == "":
			return domain.Errorf(domain.CodeInvalidInput, "event %d of the append to %s has no type", i, stream)
		case len(ev.Type) > maxTypeLen:
			return domain.Errorf(domain.CodeInvalidInput, "event type is %d bytes long; the limit is %d", len(ev.Type), maxTypeLen)
		case len(ev.Data) > maxFieldLen || len(ev.Metadata) > maxFieldLen:
			return domain.Errorf(domain.CodeInvalidInput, "event %d of the append to %s is larger than %d bytes", i, stream, maxFieldLen)
		}
		total += recHeaderLen + len(stream) + len(ev.Type) + len(ev.Data) + len(ev.Metadata)
	}
	if total > maxAppendSize {
		return domain.Errorf(domain.CodeInvalidInput, "append to %s is %d bytes; the limit is %d", stream, total, maxAppendSize)
	}
	return nil
}
