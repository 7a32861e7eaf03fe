// Package embedded is the single-node event store: the eventstore.Store port on a local
// Pebble database (github.com/cockroachdb/pebble/v2), the default when no KurrentDB is
// configured.
//
// # Two Pebble databases
//
// The data directory holds two Pebble databases. log/ is the source of truth: the global
// log, keyed by position, written with a synced WAL. index/ holds the per-stream index;
// it is derived from the log, so it is written without a WAL and, after a crash, Open
// re-indexes the log from the index's watermark (the last position it holds). Keeping the
// two apart keeps the log's keys strictly increasing in its own LSM tree, so Pebble moves
// its tables down the levels without rewriting the events, and the index's small entries
// are all that compactions merge.
//
// # Durability and group commit
//
// An append encodes its records and joins a queue. Whichever appending goroutine gets
// the writer mutex takes the whole queue as one group: it checks each append's expected
// version against in-memory stream heads (a failed one fails only that append), assigns
// revisions and positions, and applies the group's records to the log as one pebble.Batch
// with pebble.Sync but without waiting for the fsync (DB.ApplyNoSyncWait), and its index
// entries to the index. It releases the mutex, so the next group can be written while
// this one syncs, waits for the batch's fsync (Batch.SyncWait), and only then
// acknowledges the group's appends. Appends queued meanwhile form the next group, and
// Pebble's WAL writer syncs whatever is queued while an fsync is in flight in one go: one
// fsync serves many appends. Groups enter the WAL in position order (the mutex), a Pebble
// batch is atomic and the WAL is replayed in order, so after a crash (kill -9 at any
// moment) the log holds a prefix of the groups, each whole; every acknowledged event was
// synced before its ack. Open recovers the index, the stream heads and the last position.
//
// Reads (ReadStream, ReadAll, Subscribe) show only durable events: Pebble makes a batch
// visible before its fsync, so reads stop at the durable position, which an append
// raises once its fsync is done (the WAL is synced in order, so every earlier position
// is durable too). An append that fails its expected version waits until the state it
// was judged against is durable, so the caller's reload sees the event that beat it.
//
// # Key layout
//
// Integers are big-endian, so byte order is numeric order.
//
//	log/    'l' | position (8)                             -> event record
//	log/    'f' "format"                                   -> 1 (1 byte): layout version
//	index/  's' | len(stream) (2) | stream | revision (8)  -> position (8)
//	index/  'w' "watermark"                                -> position (8): last indexed
//
// Positions are 1, 2, 3, ... with no gaps; revisions are 0-based per stream. The stream
// name's 2-byte length keeps "a" and "ab" apart in the index. A stream's head is its last
// index key: Open finds every head with two seeks per stream and keeps them in memory.
// Events are never updated or deleted: the store has no such API.
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
// CaughtUp once when it has reached the head, and then waits on a broadcast fired
// whenever the durable position moves (a channel closed and replaced), reading each new
// range from the log. Appends never wait for a subscriber, so a slow subscriber only falls
// behind and reads more from the log on its next round; it sees no gap or duplicate
// because it always continues from the last position it delivered.
//
// # Exclusive access
//
// A Pebble LOCK file in the data directory admits one process; a second Open fails with
// "data directory X is in use by another allianced process".
package embedded

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
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

// inUseError says another process holds the data directory; it matches ErrInUse.
type inUseError struct {
	dir   string
	cause error
}

func (e *inUseError) Error() string {
	return fmt.Sprintf("data directory %s is in use by another allianced process (%v)", e.dir, e.cause)
}
func (e *inUseError) Is(target error) bool   { return target == ErrInUse }
func (e *inUseError) Unwrap() error          { return e.cause }
func (e *inUseError) ErrorCode() domain.Code { return domain.CodeUnavailable }

// Options tunes a Store; the zero value is the default.
type Options struct {
	// MemTableSize is Pebble's memtable size in bytes (default 4 MiB, Pebble's own). A
	// larger memtable means fewer flushes but a longer WAL file; Pebble recycles WAL files
	// only at memtable rotation, and syncing a growing file costs a metadata update per
	// fsync, so small memtables measured faster for durable appends.
	MemTableSize uint64
	// Logger receives Pebble's informational and error messages (default: discard info,
	// errors to the standard logger).
	Logger pebble.Logger
}

// Store is the embedded event store. It is safe for concurrent use.
type Store struct {
	db    *pebble.DB // the log: synced WAL
	index *pebble.DB // the per-stream index: no WAL, rebuilt from the log
	lock  *pebble.Lock
	dir   string

	// mu serializes the expected-version check, position assignment and WAL order: the
	// goroutine holding it writes the queued appends as one group.
	mu sync.Mutex
	// queue holds appends waiting for the next group (guarded by qmu).
	qmu   sync.Mutex
	queue []*pendingAppend
	// heads maps each stream to its last revision (guarded by mu).
	heads map[string]uint64
	// last is the position of the last event applied (guarded by mu).
	last uint64
	// durable is the position up to which every event is synced: what reads show.
	durable atomic.Uint64
	// notify is closed and replaced whenever durable moves, waking live subscribers.
	notify atomic.Pointer[chan struct{}]
	// failed holds the error that stopped appends, if any.
	failed atomic.Pointer[error]

	closeMu   sync.RWMutex // held shared by calls that use db, exclusively by Close
	closed    bool
	closing   chan struct{} // closed by Close: ends subscriptions and waits
	closeOnce sync.Once
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
		return nil, &inUseError{dir: dir, cause: err}
	}
	if opts.MemTableSize == 0 {
		opts.MemTableSize = 4 << 20
	}
	if opts.Logger == nil {
		opts.Logger = quietLogger{}
	}
	db, err := pebble.Open(filepath.Join(dir, "log"), pebbleOptions(opts, false))
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("embedded event store: open %s: %w", dir, err)
	}
	index, err := pebble.Open(filepath.Join(dir, "index"), pebbleOptions(opts, true))
	if err != nil {
		db.Close()
		lock.Close()
		return nil, fmt.Errorf("embedded event store: open the index in %s: %w", dir, err)
	}
	s := &Store{db: db, index: index, lock: lock, dir: dir, heads: map[string]uint64{}, closing: make(chan struct{})}
	if err := s.recover(); err != nil {
		index.Close()
		db.Close()
		lock.Close()
		return nil, err
	}
	ch := make(chan struct{})
	s.notify.Store(&ch)
	return s, nil
}

// pebbleOptions are the options of the log database, or of the index (no WAL).
func pebbleOptions(opts Options, index bool) *pebble.Options {
	po := &pebble.Options{
		Logger:       opts.Logger,
		MemTableSize: opts.MemTableSize,
		DisableWAL:   index,
		// Events are written once and move down the levels; compression would cost
		// compaction CPU on a small machine for disk that is cheap.
		L0CompactionThreshold: 4,
		L0StopWritesThreshold: 64,
	}
	po.ApplyCompressionSettings(func() pebble.DBCompressionSettings { return pebble.DBCompressionNone })
	return po
}

// recover checks the format version (writing it into a new store), finds the last
// position, brings the index up to the log and loads the stream heads.
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

	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixLog}, UpperBound: []byte{prefixLog + 1}})
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
	if err := s.reindex(); err != nil {
		return err
	}
	if err := s.loadHeads(); err != nil {
		return err
	}
	s.durable.Store(s.last)
	return nil
}

// reindex indexes the log's events after the index's watermark: those whose index
// entries were still in the index's memtable when the process stopped.
func (s *Store) reindex() error {
	var mark uint64
	v, closer, err := s.index.Get(watermarkKey)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
	case err != nil:
		return fmt.Errorf("embedded event store: read the index watermark: %w", err)
	default:
		if len(v) == 8 {
			mark = binary.BigEndian.Uint64(v)
		}
		closer.Close()
	}
	if mark > s.last {
		// The index flushed entries of appends whose log fsync never completed (the
		// process died in between): drop them. Every entry up to s.last is there, since
		// a flush holds a prefix of the index's writes.
		if err := s.dropIndexAfter(s.last); err != nil {
			return err
		}
		mark = s.last
	}
	for mark < s.last {
		recs, err := s.readLog(context.Background(), mark, s.last, 4096, nil)
		if err != nil {
			return err
		}
		b := s.index.NewBatch()
		var key []byte
		var val [8]byte
		for _, r := range recs {
			binary.BigEndian.PutUint64(val[:], uint64(r.Position))
			key = indexKey(key[:0], r.Stream, r.Version)
			_ = b.Set(key, val[:], nil)
			mark = uint64(r.Position)
		}
		binary.BigEndian.PutUint64(val[:], mark)
		_ = b.Set(watermarkKey, val[:], nil)
		err = b.Commit(pebble.NoSync)
		b.Close()
		if err != nil {
			return fmt.Errorf("embedded event store: reindex: %w", err)
		}
	}
	return nil
}

// dropIndexAfter deletes the index entries of positions after last and sets the
// watermark to last. It scans the whole index; it runs only after a crash in the window
// between an index flush and the log's fsync.
func (s *Store) dropIndexAfter(last uint64) error {
	it, err := s.index.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixIndex}, UpperBound: []byte{prefixIndex + 1}})
	if err != nil {
		return err
	}
	b := s.index.NewBatch()
	defer b.Close()
	for valid := it.First(); valid; valid = it.Next() {
		if len(it.Value()) == 8 && binary.BigEndian.Uint64(it.Value()) > last {
			_ = b.Delete(it.Key(), nil)
		}
	}
	if err := it.Close(); err != nil {
		return err
	}
	var val [8]byte
	binary.BigEndian.PutUint64(val[:], last)
	_ = b.Set(watermarkKey, val[:], nil)
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("embedded event store: drop index entries after %d: %w", last, err)
	}
	return nil
}

// loadHeads finds each stream's head, its last index key: two seeks per stream.
func (s *Store) loadHeads() error {
	it, err := s.index.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixIndex}, UpperBound: []byte{prefixIndex + 1}})
	if err != nil {
		return err
	}
	for valid := it.First(); valid; {
		k := it.Key()
		n := 3 + (int(k[1])<<8 | int(k[2]))
		if len(k) != n+8 {
			it.Close()
			return domain.Errorf(domain.CodeInternal, "embedded event store: malformed index key %x", k)
		}
		end := append(binary.BigEndian.AppendUint64(append([]byte(nil), k[:n]...), ^uint64(0)), 0)
		if !it.SeekLT(end) {
			break
		}
		s.heads[string(end[3:n])] = binary.BigEndian.Uint64(it.Key()[n:])
		valid = it.SeekGE(end)
	}
	return it.Close()
}

// pendingAppend is one append queued for the goroutine that writes the next group.
type pendingAppend struct {
	stream   string
	expected eventstore.ExpectedVersion
	records  [][]byte
	res      eventstore.AppendResult
	err      error
	done     chan struct{}
}

// Append implements eventstore.Store: it returns once the events are synced to disk.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events []eventstore.EventData) (eventstore.AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := validateAppend(stream, events); err != nil {
		return eventstore.AppendResult{}, err
	}
	p := &pendingAppend{stream: stream, expected: expected, records: make([][]byte, len(events)), done: make(chan struct{})}
	for i, ev := range events {
		p.records[i] = encodeRecord(stream, ev)
	}
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return eventstore.AppendResult{}, ErrClosed
	}
	s.qmu.Lock()
	s.queue = append(s.queue, p)
	s.qmu.Unlock()
	s.lead()
	// Once queued the append is decided by whichever goroutine writes its group;
	// waiting for the outcome keeps the answer unambiguous.
	<-p.done
	return p.res, p.err
}

// lead writes queued appends, a group at a time, unless another goroutine holds mu: that
// one takes the queue after its current group (it checks again after releasing mu).
func (s *Store) lead() {
	for s.mu.TryLock() {
		s.qmu.Lock()
		group := s.queue
		s.queue = nil
		s.qmu.Unlock()
		if len(group) == 0 {
			s.mu.Unlock()
			s.qmu.Lock()
			more := len(s.queue) > 0
			s.qmu.Unlock()
			if !more {
				return
			}
			continue
		}
		w := s.write(group)
		s.mu.Unlock()
		s.finish(w)
	}
}

// writtenGroup is a group applied to the log and the index, waiting for its fsync.
type writtenGroup struct {
	batch    *pebble.Batch // nil when every append of the group was rejected
	accepted []*pendingAppend
	rejected []*pendingAppend // wrong expected version, err set
	last     uint64           // position of the group's last event
	judged   uint64           // the position the rejections were judged at
}

// write checks each append's expected version, assigns revisions and positions, and
// applies the group's records to the log (without waiting for the fsync) and its entries
// to the index. Called with mu held.
func (s *Store) write(group []*pendingAppend) writtenGroup {
	var w writtenGroup
	if errp := s.failed.Load(); errp != nil {
		for _, p := range group {
			p.err = *errp
			close(p.done)
		}
		return w
	}
	size := 0
	for _, p := range group {
		for _, rec := range p.records {
			size += len(rec) + 16
		}
	}
	b := s.db.NewBatchWithSize(size)
	ib := s.index.NewBatch()
	defer ib.Close()
	pos := s.last
	w.judged = s.last
	var key []byte
	var val [8]byte
	for _, p := range group {
		cur, exists := s.heads[p.stream]
		if !p.expected.Satisfied(cur, exists) {
			p.err = &eventstore.WrongExpectedVersionError{Stream: p.stream, Expected: p.expected, Actual: cur, Exists: exists}
			w.rejected = append(w.rejected, p)
			w.judged = pos
			continue
		}
		rev := uint64(0)
		if exists {
			rev = cur + 1
		}
		for _, rec := range p.records {
			pos++
			sealRecord(rec, rev)
			key = append(key[:0], prefixLog)
			key = binary.BigEndian.AppendUint64(key, pos)
			_ = b.Set(key, rec, nil)
			binary.BigEndian.PutUint64(val[:], pos)
			_ = ib.Set(indexKey(key[:0], p.stream, rev), val[:], nil)
			rev++
		}
		s.heads[p.stream] = rev - 1
		p.res = eventstore.AppendResult{Version: rev - 1, Position: eventstore.Position(pos)}
		w.accepted = append(w.accepted, p)
	}
	if len(w.accepted) == 0 {
		b.Close()
		return w
	}
	_ = ib.Set(watermarkKey, val[:], nil)
	if err := s.db.ApplyNoSyncWait(b, pebble.Sync); err != nil {
		b.Close()
		s.failAll(w.accepted, s.fail("write", err))
		w.accepted = nil
		return w
	}
	if err := s.index.Apply(ib, pebble.NoSync); err != nil {
		// The log batch is applied; wait for it before failing the store.
		_ = b.SyncWait()
		b.Close()
		s.failAll(w.accepted, s.fail("index", err))
		w.accepted = nil
		return w
	}
	s.last = pos
	w.batch, w.last = b, pos
	return w
}

// finish waits for a written group's fsync, publishes its positions as durable and
// answers its appends. Rejections are answered once the state they were judged against
// is durable, so the caller's reload sees the event that beat it.
func (s *Store) finish(w writtenGroup) {
	if w.batch != nil {
		err := w.batch.SyncWait()
		w.batch.Close()
		if err != nil {
			s.failAll(w.accepted, s.fail("sync", err))
		} else {
			s.markDurable(w.last)
			for _, p := range w.accepted {
				close(p.done)
			}
		}
	}
	if len(w.rejected) > 0 {
		if err := s.waitDurable(context.Background(), w.judged); err != nil {
			for _, p := range w.rejected {
				p.err = err
			}
		}
		for _, p := range w.rejected {
			close(p.done)
		}
	}
}

func (s *Store) failAll(ps []*pendingAppend, err error) {
	for _, p := range ps {
		p.res, p.err = eventstore.AppendResult{}, err
		close(p.done)
	}
}

// fail records a write or sync failure: the state on disk is then unknown to us, so the
// store stops accepting appends rather than risk reusing positions.
func (s *Store) fail(what string, cause error) error {
	err := error(domain.Errorf(domain.CodeUnavailable, "embedded event store: %s failed: %v", what, cause))
	s.failed.CompareAndSwap(nil, &err)
	return err
}

// markDurable raises the durable position to pos (the WAL is synced in order, so every
// earlier position is durable too) and wakes subscribers.
func (s *Store) markDurable(pos uint64) {
	for {
		cur := s.durable.Load()
		if cur >= pos {
			return
		}
		if s.durable.CompareAndSwap(cur, pos) {
			next := make(chan struct{})
			close(*s.notify.Swap(&next))
			return
		}
	}
}

// waitDurable waits until every position up to pos is durable.
func (s *Store) waitDurable(ctx context.Context, pos uint64) error {
	for {
		wake := *s.notify.Load()
		if s.durable.Load() >= pos {
			return nil
		}
		if errp := s.failed.Load(); errp != nil {
			return *errp
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.closing:
			return ErrClosed
		}
	}
}

// Head implements eventstore.Store: the position of the last acknowledged event.
func (s *Store) Head(ctx context.Context) (eventstore.Position, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return eventstore.Position(s.durable.Load()), nil
}

// Close waits for appends and reads in progress, ends subscriptions, and closes the
// database. Calls after Close return ErrClosed.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { close(s.closing) })
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	// The index has no WAL: flush it so the next Open has nothing to re-index.
	err := s.index.Flush()
	if cerr := s.index.Close(); err == nil {
		err = cerr
	}
	if cerr := s.db.Close(); err == nil {
		err = cerr
	}
	s.closeMu.Unlock()
	if lerr := s.lock.Close(); err == nil {
		err = lerr
	}
	return err
}

// Dir returns the data directory the store was opened on.
func (s *Store) Dir() string { return s.dir }
