// Package embedded is the single-node event store: the eventstore.Store port on a local
// Pebble database (github.com/cockroachdb/pebble/v2), the default when no KurrentDB is
// configured.
//
// # Durability and group commit
//
// One writer goroutine owns every append. It takes the first pending append, drains
// whatever else is queued (up to a group limit), checks each append's expected version
// against in-memory stream heads, writes all accepted appends as one pebble.Batch
// committed with pebble.Sync, and only then acknowledges each of them. Concurrent appends
// therefore share one WAL fsync; a failed expected version fails only its own append. A
// Pebble batch is atomic, so after a crash (kill -9 at any moment) either a whole group is
// in the log or none of it is; every acknowledged event was synced before its ack. Open
// recovers the stream heads and the last position from the keys below.
//
// # Key layout
//
// One Pebble keyspace; the first byte names the key family. Integers are big-endian, so
// byte order is numeric order.
//
//	'l' | position (8)                                  -> event record     the global log
//	's' | len(stream) (2) | stream | revision (8)       -> position (8)     per-stream index
//	'h' | stream                                        -> last revision (8) stream heads
//	'f' "format"                                        -> 1 (1 byte)       layout version
//
// Positions are 1, 2, 3, ... with no gaps; revisions are 0-based per stream. The stream
// name's 2-byte length keeps "a" and "ab" apart in the index. Nothing is ever updated or
// deleted: the store has no such API.
//
// # Record encoding
//
// A 41-byte header then the variable fields (see record.go): format (1), CRC-32C of the
// rest (4), event id (16), revision (8), the lengths of stream (2), type (2), metadata (4)
// and data (4); then stream, type, metadata and data bytes verbatim. Reads verify the CRC.
//
// # Subscriptions
//
// A subscription reads the log in batches from its position up to the durable head, sends
// CaughtUp once when it has reached the head, and then waits on a broadcast the writer
// fires after every commit (a channel closed and replaced), reading each new range from
// the log. The writer never waits for a subscriber, so a slow subscriber only falls
// behind and reads more from the log on its next round; it sees no gap or duplicate
// because it always continues from the last position it delivered.
//
// # Exclusive access
//
// Pebble's LOCK file admits one process per directory; a second Open fails with "data
// directory X is in use by another allianced process".
package embedded

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log"
	"os"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
)

var _ eventstore.Store = (*Store)(nil)

// ErrClosed is returned by calls on a closed store.
var ErrClosed = domain.Errorf(domain.CodeUnavailable, "the embedded event store is closed")

// ErrInUse is wrapped by Open's error when another process holds the data directory.
var ErrInUse = errors.New("data directory is in use by another allianced process")

// Options tunes a Store; the zero value is the default.
type Options struct {
	// MemTableSize is Pebble's memtable size in bytes (default 64 MiB): a larger memtable
	// means fewer flushes under a steady append load.
	MemTableSize uint64
	// MaxGroup caps how many appends share one commit (default 4096).
	MaxGroup int
	// Logger receives Pebble's informational and error messages (default: discard info,
	// errors to the standard logger).
	Logger pebble.Logger
}

// Store is the embedded event store. It is safe for concurrent use.
type Store struct {
	db   *pebble.DB
	lock *pebble.Lock
	dir  string

	maxGroup int
	reqs     chan *appendReq

	// heads maps each stream to its last revision; only the writer goroutine uses it.
	heads map[string]uint64
	// last is the position of the last event written; only the writer uses it.
	last uint64
	// durable is the position of the last acknowledged (synced) event.
	durable atomic.Uint64
	// notify is closed and replaced after every commit, waking live subscribers.
	notify atomic.Pointer[chan struct{}]
	// failed holds the error that stopped the writer, if any.
	failed atomic.Pointer[error]

	closeMu    sync.RWMutex // held shared by calls that use db, exclusively by Close
	closed     bool
	closing    chan struct{}
	writerDone chan struct{}
}

type appendReq struct {
	ctx      context.Context
	stream   string
	expected eventstore.ExpectedVersion
	records  [][]byte
	res      eventstore.AppendResult
	err      error
	done     chan struct{}
}

// quietLogger drops Pebble's informational messages and keeps errors.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any) {}
func (quietLogger) Errorf(format string, args ...any) {
	log.Printf("pebble: "+format, args...)
}
func (quietLogger) Fatalf(format string, args ...any) {
	log.Fatalf("pebble: "+format, args...)
}

// Open opens (creating if needed) the store in dir. It fails with an error wrapping
// ErrInUse when another process has dir open.
func Open(dir string, opts Options) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("embedded event store: create data directory: %w", err)
	}
	lock, err := pebble.LockDirectory(dir, vfs.Default)
	if err != nil {
		return nil, fmt.Errorf("data directory %s is in use by another allianced process (%v): %w", dir, err, ErrInUse)
	}
	if opts.MemTableSize == 0 {
		opts.MemTableSize = 64 << 20
	}
	if opts.MaxGroup <= 0 {
		opts.MaxGroup = 4096
	}
	if opts.Logger == nil {
		opts.Logger = quietLogger{}
	}
	po := &pebble.Options{
		Lock:                        lock,
		Logger:                      opts.Logger,
		MemTableSize:                opts.MemTableSize,
		MemTableStopWritesThreshold: 4,
		L0CompactionThreshold:       4,
		L0StopWritesThreshold:       1000,
		LBaseMaxBytes:               256 << 20,
		CompactionConcurrencyRange:  func() (int, int) { return 1, 2 },
		FormatMajorVersion:          pebble.FormatNewest,
	}
	db, err := pebble.Open(dir, po)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("embedded event store: open %s: %w", dir, err)
	}
	s := &Store{
		db: db, lock: lock, dir: dir, maxGroup: opts.MaxGroup,
		reqs:    make(chan *appendReq, opts.MaxGroup),
		heads:   map[string]uint64{},
		closing: make(chan struct{}), writerDone: make(chan struct{}),
	}
	if err := s.recover(); err != nil {
		db.Close()
		lock.Close()
		return nil, err
	}
	ch := make(chan struct{})
	s.notify.Store(&ch)
	go s.writeLoop()
	return s, nil
}

// recover checks the format version (writing it into a new store) and loads the stream
// heads and the last position.
func (s *Store) recover() error {
	v, closer, err := s.db.Get(formatKey)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		if err := s.db.Set(formatKey, []byte{formatVersion}, pebble.Sync); err != nil {
			return fmt.Errorf("embedded event store: write format version: %w", err)
		}
	case err != nil:
		return fmt.Errorf("embedded event store: read format version: %w", err)
	default:
		ok := len(v) == 1 && v[0] == formatVersion
		got := fmt.Sprintf("%x", v)
		closer.Close()
		if !ok {
			return domain.Errorf(domain.CodeInternal, "embedded event store in %s has format %s; this build reads format %d", s.dir, got, formatVersion)
		}
	}

	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixHead}, UpperBound: []byte{prefixHead + 1}})
	if err != nil {
		return err
	}
	for it.First(); it.Valid(); it.Next() {
		if len(it.Value()) != 8 {
			it.Close()
			return domain.Errorf(domain.CodeInternal, "embedded event store: malformed head of stream %q", it.Key()[1:])
		}
		s.heads[string(it.Key()[1:])] = binary.BigEndian.Uint64(it.Value())
	}
	if err := it.Close(); err != nil {
		return err
	}

	it, err = s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixLog}, UpperBound: []byte{prefixLog + 1}})
	if err != nil {
		return err
	}
	if it.Last() {
		if len(it.Key()) != 9 {
			it.Close()
			return domain.Errorf(domain.CodeInternal, "embedded event store: malformed log key %x", it.Key())
		}
		s.last = binary.BigEndian.Uint64(it.Key()[1:])
	}
	if err := it.Close(); err != nil {
		return err
	}
	s.durable.Store(s.last)
	return nil
}

// Append implements eventstore.Store: it returns once the events are synced to disk.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events []eventstore.EventData) (eventstore.AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := validateAppend(stream, events); err != nil {
		return eventstore.AppendResult{}, err
	}
	req := &appendReq{ctx: ctx, stream: stream, expected: expected, records: make([][]byte, len(events)), done: make(chan struct{})}
	for i, ev := range events {
		req.records[i] = encodeRecord(stream, ev)
	}
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return eventstore.AppendResult{}, ErrClosed
	}
	if errp := s.failed.Load(); errp != nil {
		s.closeMu.RUnlock()
		return eventstore.AppendResult{}, *errp
	}
	select {
	case s.reqs <- req:
	case <-ctx.Done():
		s.closeMu.RUnlock()
		return eventstore.AppendResult{}, ctx.Err()
	}
	s.closeMu.RUnlock()
	// Once queued the append is decided by the writer; waiting for its outcome keeps the
	// answer unambiguous (the writer drops appends whose context ended before it ran).
	<-req.done
	return req.res, req.err
}

// writeLoop is the single writer: it groups queued appends into one synced batch.
func (s *Store) writeLoop() {
	defer close(s.writerDone)
	group := make([]*appendReq, 0, s.maxGroup)
	for {
		var first *appendReq
		select {
		case first = <-s.reqs:
		case <-s.closing:
			// Close holds closeMu exclusively, so nothing more can be queued: write
			// what is left and stop.
			for {
				select {
				case r := <-s.reqs:
					s.commit(append(group[:0], r))
				default:
					return
				}
			}
		}
		group = append(group[:0], first)
		size := recordsSize(first)
	drain:
		for len(group) < s.maxGroup && size < maxAppendSize {
			select {
			case r := <-s.reqs:
				group = append(group, r)
				size += recordsSize(r)
			default:
				break drain
			}
		}
		s.commit(group)
	}
}

func recordsSize(r *appendReq) int {
	n := 0
	for _, rec := range r.records {
		n += len(rec)
	}
	return n
}

// groupHead is a stream's head as seen inside one group, before it is committed.
type groupHead struct {
	rev    uint64
	exists bool
}

// commit writes one group of appends as one synced batch and acknowledges each.
func (s *Store) commit(group []*appendReq) {
	if errp := s.failed.Load(); errp != nil {
		for _, r := range group {
			r.err = *errp
			close(r.done)
		}
		return
	}
	b := s.db.NewBatch()
	defer b.Close()
	pending := map[string]groupHead{}
	pos := s.last
	var key []byte
	var val [8]byte
	accepted := group[:0:0]
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			close(r.done)
			continue
		}
		h, ok := pending[r.stream]
		if !ok {
			h.rev, h.exists = s.heads[r.stream]
		}
		if !r.expected.Satisfied(h.rev, h.exists) {
			r.err = &eventstore.WrongExpectedVersionError{Stream: r.stream, Expected: r.expected, Actual: h.rev, Exists: h.exists}
			close(r.done)
			continue
		}
		rev := uint64(0)
		if h.exists {
			rev = h.rev + 1
		}
		for _, rec := range r.records {
			pos++
			sealRecord(rec, rev)
			binary.BigEndian.PutUint64(val[:], pos)
			key = append(key[:0], prefixLog)
			key = binary.BigEndian.AppendUint64(key, pos)
			_ = b.Set(key, rec, nil)
			key = indexKey(key[:0], r.stream, rev)
			_ = b.Set(key, val[:], nil)
			rev++
		}
		rev--
		binary.BigEndian.PutUint64(val[:], rev)
		_ = b.Set(headKey(key[:0], r.stream), val[:], nil)
		pending[r.stream] = groupHead{rev: rev, exists: true}
		r.res = eventstore.AppendResult{Version: rev, Position: eventstore.Position(pos)}
		accepted = append(accepted, r)
	}
	if len(accepted) == 0 {
		return
	}
	if err := b.Commit(pebble.Sync); err != nil {
		// The state on disk is unknown to us now: stop accepting appends rather than
		// risk reusing positions.
		err = domain.Errorf(domain.CodeUnavailable, "embedded event store: commit failed: %v", err)
		s.failed.Store(&err)
		for _, r := range accepted {
			r.res, r.err = eventstore.AppendResult{}, err
			close(r.done)
		}
		return
	}
	for stream, h := range pending {
		s.heads[stream] = h.rev
	}
	s.last = pos
	s.durable.Store(pos)
	next := make(chan struct{})
	close(*s.notify.Swap(&next))
	for _, r := range accepted {
		close(r.done)
	}
}

// Head implements eventstore.Store: the position of the last acknowledged event.
func (s *Store) Head(ctx context.Context) (eventstore.Position, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return eventstore.Position(s.durable.Load()), nil
}

// Close stops the writer after the queued appends, ends subscriptions, and closes the
// database. Calls after Close return ErrClosed.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	close(s.closing)
	<-s.writerDone
	err := s.db.Close()
	s.closeMu.Unlock()
	if lerr := s.lock.Close(); err == nil {
		err = lerr
	}
	return err
}

// Dir returns the data directory the store was opened on.
func (s *Store) Dir() string { return s.dir }
