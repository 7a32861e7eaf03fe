package kurrentdbtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// streamsService implements event_store.client.streams.Streams over a Server.
type streamsService struct {
	api.UnimplementedStreamsServer
	s *Server
}

// Append reads the options message, then every proposed message, checks the expected
// revision and stores the events atomically. A failed check is an AppendResp result, as
// KurrentDB sends it, not a gRPC error.
func (svc *streamsService) Append(stream api.Streams_AppendServer) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	opts := first.GetOptions()
	if opts == nil {
		return status.Error(codes.InvalidArgument, "the first append message must carry the options")
	}
	name := string(opts.GetStreamIdentifier().GetStreamName())
	if name == "" {
		return status.Error(codes.InvalidArgument, "stream name is empty")
	}
	var events []proposed
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		pm := msg.GetProposedMessage()
		if pm == nil {
			return status.Error(codes.InvalidArgument, "expected a proposed message")
		}
		p, err := toProposed(pm)
		if err != nil {
			return err
		}
		events = append(events, p)
	}

	s := svc.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tombstoned[name] {
		return streamDeleted(stream, name)
	}
	last, exists := s.lastRevisionLocked(name)
	ok := true
	switch e := opts.GetExpectedStreamRevision().(type) {
	case *api.AppendReq_Options_NoStream:
		ok = !exists
		if !ok && s.replayLocked(name, 0, events) {
			return stream.SendAndClose(success(s.streams[name][len(events)-1]))
		}
	case *api.AppendReq_Options_StreamExists:
		ok = exists
	case *api.AppendReq_Options_Revision:
		ok = exists && last == e.Revision
		if !ok && exists && s.replayLocked(name, e.Revision+1, events) {
			return stream.SendAndClose(success(s.streams[name][e.Revision+uint64(len(events))]))
		}
	}
	if !ok {
		return stream.SendAndClose(wrongExpected(opts, last, exists))
	}
	if len(events) == 0 {
		resp := &api.AppendResp_Success{PositionOption: &api.AppendResp_Success_NoPosition{NoPosition: &shared.Empty{}}}
		if exists {
			resp.CurrentRevisionOption = &api.AppendResp_Success_CurrentRevision{CurrentRevision: last}
		} else {
			resp.CurrentRevisionOption = &api.AppendResp_Success_NoStream{NoStream: &shared.Empty{}}
		}
		return stream.SendAndClose(&api.AppendResp{Result: &api.AppendResp_Success_{Success: resp}})
	}
	recs := s.appendLocked(name, events, time.Now())
	return stream.SendAndClose(success(recs[len(recs)-1]))
}

// replayLocked reports whether the same events (by id) are already stored from revision
// from on: KurrentDB acknowledges such a retry of an append with an exact expected
// revision instead of failing it.
func (s *Server) replayLocked(stream string, from uint64, events []proposed) bool {
	stored := s.streams[stream]
	if len(events) == 0 || from+uint64(len(events)) > uint64(len(stored)) {
		return false
	}
	for i, e := range events {
		if stored[from+uint64(i)].id != e.id {
			return false
		}
	}
	return true
}

func success(last *record) *api.AppendResp {
	return &api.AppendResp{Result: &api.AppendResp_Success_{Success: &api.AppendResp_Success{
		CurrentRevisionOption: &api.AppendResp_Success_CurrentRevision{CurrentRevision: last.revision},
		PositionOption: &api.AppendResp_Success_Position{Position: &api.AppendResp_Position{
			CommitPosition: last.position, PreparePosition: last.position,
		}},
	}}}
}

func wrongExpected(opts *api.AppendReq_Options, last uint64, exists bool) *api.AppendResp {
	w := &api.AppendResp_WrongExpectedVersion{}
	if exists {
		w.CurrentRevisionOption_20_6_0 = &api.AppendResp_WrongExpectedVersion_CurrentRevision_20_6_0{CurrentRevision_20_6_0: last}
		w.CurrentRevisionOption = &api.AppendResp_WrongExpectedVersion_CurrentRevision{CurrentRevision: last}
	} else {
		w.CurrentRevisionOption_20_6_0 = &api.AppendResp_WrongExpectedVersion_NoStream_20_6_0{NoStream_20_6_0: &shared.Empty{}}
		w.CurrentRevisionOption = &api.AppendResp_WrongExpectedVersion_CurrentNoStream{CurrentNoStream: &shared.Empty{}}
	}
	switch e := opts.GetExpectedStreamRevision().(type) {
	case *api.AppendReq_Options_Revision:
		w.ExpectedRevisionOption_20_6_0 = &api.AppendResp_WrongExpectedVersion_ExpectedRevision_20_6_0{ExpectedRevision_20_6_0: e.Revision}
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedRevision{ExpectedRevision: e.Revision}
	case *api.AppendReq_Options_NoStream:
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedNoStream{ExpectedNoStream: &shared.Empty{}}
	case *api.AppendReq_Options_StreamExists:
		w.ExpectedRevisionOption_20_6_0 = &api.AppendResp_WrongExpectedVersion_StreamExists_20_6_0{StreamExists_20_6_0: &shared.Empty{}}
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedStreamExists{ExpectedStreamExists: &shared.Empty{}}
	default:
		w.ExpectedRevisionOption_20_6_0 = &api.AppendResp_WrongExpectedVersion_Any_20_6_0{Any_20_6_0: &shared.Empty{}}
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedAny{ExpectedAny: &shared.Empty{}}
	}
	return &api.AppendResp{Result: &api.AppendResp_WrongExpectedVersion_{WrongExpectedVersion: w}}
}

func toProposed(pm *api.AppendReq_ProposedMessage) (proposed, error) {
	p := proposed{
		eventType:   pm.GetMetadata()["type"],
		contentType: pm.GetMetadata()["content-type"],
		metadata:    pm.GetCustomMetadata(),
		data:        pm.GetData(),
	}
	if p.eventType == "" {
		return p, status.Error(codes.InvalidArgument, "event type is empty")
	}
	if p.contentType == "" {
		p.contentType = "application/octet-stream"
	}
	switch id := pm.GetId().GetValue().(type) {
	case *shared.UUID_Structured_:
		binary.BigEndian.PutUint64(p.id[:8], uint64(id.Structured.GetMostSignificantBits()))
		binary.BigEndian.PutUint64(p.id[8:], uint64(id.Structured.GetLeastSignificantBits()))
	case *shared.UUID_String_:
		parsed, ok := parseUUID(id.String_)
		if !ok {
			return p, status.Errorf(codes.InvalidArgument, "invalid event id %q", id.String_)
		}
		p.id = parsed
	default:
		return p, status.Error(codes.InvalidArgument, "event id is missing")
	}
	if p.id == ([16]byte{}) {
		p.id = randomID(time.Now())
	}
	return p, nil
}

func parseUUID(s string) ([16]byte, bool) {
	var id [16]byte
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != 16 {
		return id, false
	}
	copy(id[:], b)
	return id, true
}

// randomID returns a version-4 UUID's bytes; the clock is a fallback if the system's
// random source fails.
func randomID(now time.Time) [16]byte {
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		binary.BigEndian.PutUint64(id[:8], uint64(now.UnixNano()))
	}
	id[6] = id[6]&0x0f | 0x40
	id[8] = id[8]&0x3f | 0x80
	return id
}

func uuidString(id [16]byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", id[0:4], id[4:6], id[6:8], id[8:10], id[10:16])
}

// Delete soft-deletes a stream as KurrentDB does: it writes a $metadata event with the
// truncate-before revision to the stream's metadata stream; reads then say not found,
// and a later append continues the revisions.
func (svc *streamsService) Delete(ctx context.Context, req *api.DeleteReq) (*api.DeleteResp, error) {
	opts := req.GetOptions()
	name := string(opts.GetStreamIdentifier().GetStreamName())
	s := svc.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tombstoned[name] {
		return nil, streamDeleted(grpcServerStream{ctx}, name)
	}
	if err := s.checkDeleteLocked(name, expectedOf(opts.GetExpectedStreamRevision())); err != nil {
		return nil, err
	}
	tb := uint64(len(s.streams[name]))
	recs := s.appendLocked("$$"+name, []proposed{{
		id: randomID(time.Now()), eventType: "$metadata", contentType: "application/json",
		data: []byte(fmt.Sprintf(`{"$tb":%d}`, tb)),
	}}, time.Now())
	s.deleted[name] = tb
	p := recs[0].position
	return &api.DeleteResp{PositionOption: &api.DeleteResp_Position_{Position: &api.DeleteResp_Position{CommitPosition: p, PreparePosition: p}}}, nil
}

// Tombstone deletes a stream for good, as KurrentDB does: it writes a $streamDeleted
// record to the stream, after which reads, subscriptions and appends fail with the
// stream-deleted exception.
func (svc *streamsService) Tombstone(ctx context.Context, req *api.TombstoneReq) (*api.TombstoneResp, error) {
	opts := req.GetOptions()
	name := string(opts.GetStreamIdentifier().GetStreamName())
	s := svc.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tombstoned[name] {
		return nil, streamDeleted(grpcServerStream{ctx}, name)
	}
	last, exists := s.lastRevisionLocked(name)
	if !expectedHolds(expectedOf(opts.GetExpectedStreamRevision()), last, exists) {
		return nil, wrongExpectedStatus(name)
	}
	now := time.Now()
	r := &record{
		id: randomID(now), stream: name, revision: math.MaxInt64, position: s.nextPos,
		eventType: "$streamDeleted", contentType: "application/octet-stream", created: now.UnixNano() / 100,
	}
	s.nextPos += uint64(64 + len(name))
	r.end = s.nextPos
	s.log = append(s.log, r)
	s.tombstoned[name] = true
	close(s.appended)
	s.appended = make(chan struct{})
	return &api.TombstoneResp{PositionOption: &api.TombstoneResp_Position_{Position: &api.TombstoneResp_Position{CommitPosition: r.position, PreparePosition: r.position}}}, nil
}

type noStream struct{}
type streamExists struct{}

// expectedOf turns a delete's or tombstone's expected-revision option into what
// expectedHolds takes: nil (any or unset), noStream{}, streamExists{} or a uint64.
func expectedOf(option any) any {
	switch e := option.(type) {
	case *api.DeleteReq_Options_NoStream, *api.TombstoneReq_Options_NoStream:
		return noStream{}
	case *api.DeleteReq_Options_StreamExists, *api.TombstoneReq_Options_StreamExists:
		return streamExists{}
	case *api.DeleteReq_Options_Revision:
		return e.Revision
	case *api.TombstoneReq_Options_Revision:
		return e.Revision
	}
	return nil
}

// expectedHolds checks a delete's or tombstone's expected revision: nil (any),
// noStream{}, streamExists{} or an exact uint64 revision.
func expectedHolds(expected any, last uint64, exists bool) bool {
	switch e := expected.(type) {
	case noStream:
		return !exists
	case streamExists:
		return exists
	case uint64:
		return exists && last == e
	}
	return true
}

func wrongExpectedStatus(name string) error {
	return status.Errorf(codes.FailedPrecondition, "wrong expected version for stream %s", name)
}

func (s *Server) checkDeleteLocked(name string, expected any) error {
	last, exists := s.lastRevisionLocked(name)
	if !expectedHolds(expected, last, exists) {
		return wrongExpectedStatus(name)
	}
	if !exists {
		return status.Errorf(codes.NotFound, "stream %s not found", name)
	}
	return nil
}

// trailerSetter is the part of a gRPC server stream (or a unary call's context) that
// carries trailers.
type trailerSetter interface {
	SetTrailer(metadata.MD)
}

// grpcServerStream lets a unary handler set trailers through its context.
type grpcServerStream struct{ ctx context.Context }

func (g grpcServerStream) SetTrailer(md metadata.MD) { _ = grpc.SetTrailer(g.ctx, md) }

// streamDeleted is KurrentDB's error for a tombstoned stream: the client recognises it
// by the exception and stream-name trailers.
func streamDeleted(ts trailerSetter, name string) error {
	ts.SetTrailer(metadata.Pairs("exception", "stream-deleted", "stream-name", name))
	return status.Errorf(codes.FailedPrecondition, "event stream '%s' is deleted", name)
}

// filter is a compiled $all filter on event types or stream names.
type filter struct {
	onStream bool
	prefixes []string
	regex    *regexp.Regexp
	interval int // checkpoint every interval considered events; 0 means never
}

func newFilter(f *api.ReadReq_Options_FilterOptions) (*filter, error) {
	if f == nil {
		return nil, nil
	}
	var expr *api.ReadReq_Options_FilterOptions_Expression
	out := &filter{}
	switch v := f.GetFilter().(type) {
	case *api.ReadReq_Options_FilterOptions_StreamIdentifier:
		out.onStream, expr = true, v.StreamIdentifier
	case *api.ReadReq_Options_FilterOptions_EventType:
		expr = v.EventType
	default:
		return nil, status.Error(codes.InvalidArgument, "filter has no expression")
	}
	out.prefixes = expr.GetPrefix()
	if re := expr.GetRegex(); re != "" {
		compiled, err := regexp.Compile(re)
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "invalid filter regex: %v", err)
		}
		out.regex = compiled
	}
	window := 32
	if m, ok := f.GetWindow().(*api.ReadReq_Options_FilterOptions_Max); ok && m.Max > 0 {
		window = int(m.Max)
	}
	mult := int(f.GetCheckpointIntervalMultiplier())
	if mult == 0 {
		mult = 1
	}
	out.interval = window * mult
	return out, nil
}

func (f *filter) match(r *record) bool {
	if f == nil {
		return true
	}
	subject := r.eventType
	if f.onStream {
		subject = r.stream
	}
	if f.regex != nil {
		return f.regex.MatchString(subject)
	}
	for _, p := range f.prefixes {
		if strings.HasPrefix(subject, p) {
			return true
		}
	}
	return len(f.prefixes) == 0
}

func eventResp(r *record) *api.ReadResp {
	return &api.ReadResp{Content: &api.ReadResp_Event{Event: &api.ReadResp_ReadEvent{
		Event: &api.ReadResp_ReadEvent_RecordedEvent{
			Id: &shared.UUID{Value: &shared.UUID_Structured_{Structured: &shared.UUID_Structured{
				MostSignificantBits:  int64(binary.BigEndian.Uint64(r.id[:8])),
				LeastSignificantBits: int64(binary.BigEndian.Uint64(r.id[8:])),
			}}},
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(r.stream)},
			StreamRevision:   r.revision,
			PreparePosition:  r.position,
			CommitPosition:   r.position,
			Metadata: map[string]string{
				"type":         r.eventType,
				"content-type": r.contentType,
				"created":      fmt.Sprint(r.created),
			},
			CustomMetadata: bytes.Clone(r.metadata),
			Data:           bytes.Clone(r.data),
		},
		Position: &api.ReadResp_ReadEvent_CommitPosition{CommitPosition: r.position},
	}}}
}

// Read serves stream and $all reads and subscriptions.
func (svc *streamsService) Read(req *api.ReadReq, out api.Streams_ReadServer) error {
	opts := req.GetOptions()
	if opts == nil {
		return status.Error(codes.InvalidArgument, "read options are missing")
	}
	f, err := newFilter(opts.GetFilter())
	if err != nil {
		return err
	}
	if _, ok := opts.GetCountOption().(*api.ReadReq_Options_Subscription); ok {
		if so, ok := opts.GetStreamOption().(*api.ReadReq_Options_Stream); ok {
			if name := string(so.Stream.GetStreamIdentifier().GetStreamName()); svc.s.isTombstoned(name) {
				return streamDeleted(out, name)
			}
		}
		return svc.subscribe(opts, f, out)
	}
	backwards := opts.GetReadDirection() == api.ReadReq_Options_Backwards
	count := opts.GetCount()
	var recs []*record
	switch so := opts.GetStreamOption().(type) {
	case *api.ReadReq_Options_Stream:
		name := string(so.Stream.GetStreamIdentifier().GetStreamName())
		if svc.s.isTombstoned(name) {
			return streamDeleted(out, name)
		}
		var found bool
		recs, found = svc.s.readStream(name, so.Stream, backwards, count)
		if !found {
			return out.Send(&api.ReadResp{Content: &api.ReadResp_StreamNotFound_{StreamNotFound: &api.ReadResp_StreamNotFound{
				StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(name)},
			}}})
		}
	case *api.ReadReq_Options_All:
		recs = svc.s.readAll(so.All, backwards, count, f)
	default:
		return status.Error(codes.InvalidArgument, "read has no stream option")
	}
	for _, r := range recs {
		if err := out.Send(eventResp(r)); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) isTombstoned(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tombstoned[name]
}

// readStream returns the events of a stream read, and false if the stream has no
// readable event.
func (s *Server) readStream(name string, o *api.ReadReq_Options_StreamOptions, backwards bool, count uint64) ([]*record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	last, exists := s.lastRevisionLocked(name)
	if !exists {
		return nil, false
	}
	evs := s.streams[name]
	first := s.deleted[name]
	var out []*record
	if backwards {
		from := last
		switch v := o.GetRevisionOption().(type) {
		case *api.ReadReq_Options_StreamOptions_Revision:
			from = min(v.Revision, last)
		case *api.ReadReq_Options_StreamOptions_Start:
			from = first
		}
		for i := int64(from); i >= int64(first) && uint64(len(out)) < count; i-- {
			out = append(out, evs[i])
		}
		return out, true
	}
	from := first
	switch v := o.GetRevisionOption().(type) {
	case *api.ReadReq_Options_StreamOptions_Revision:
		from = max(v.Revision, first)
	case *api.ReadReq_Options_StreamOptions_End:
		from = last + 1
	}
	for i := from; i <= last && uint64(len(out)) < count; i++ {
		out = append(out, evs[i])
	}
	return out, true
}

// index returns the index in the log of the first record at or after position pos.
func (s *Server) indexLocked(pos uint64) int {
	lo, hi := 0, len(s.log)
	for lo < hi {
		m := (lo + hi) / 2
		if s.log[m].position < pos {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// readAll returns the events of a $all read: forwards from a position includes the
// event at that position, backwards from a position returns the events before it.
func (s *Server) readAll(o *api.ReadReq_Options_AllOptions, backwards bool, count uint64, f *filter) []*record {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*record
	if backwards {
		i := len(s.log) - 1
		switch v := o.GetAllOption().(type) {
		case *api.ReadReq_Options_AllOptions_Position:
			i = s.indexLocked(v.Position.GetCommitPosition()) - 1
		case *api.ReadReq_Options_AllOptions_Start:
			i = -1
		}
		for ; i >= 0 && uint64(len(out)) < count; i-- {
			if f.match(s.log[i]) {
				out = append(out, s.log[i])
			}
		}
		return out
	}
	i := 0
	switch v := o.GetAllOption().(type) {
	case *api.ReadReq_Options_AllOptions_Position:
		i = s.indexLocked(v.Position.GetCommitPosition())
	case *api.ReadReq_Options_AllOptions_End:
		i = len(s.log)
	}
	for ; i < len(s.log) && uint64(len(out)) < count; i++ {
		if f.match(s.log[i]) {
			out = append(out, s.log[i])
		}
	}
	return out
}

// subscribe serves a catch-up subscription: confirmation, the stored events after the
// start, checkpoints for filtered $all subscriptions, caught_up at the live point, then
// live events until the client goes away or the server stops.
func (svc *streamsService) subscribe(opts *api.ReadReq_Options, f *filter, out api.Streams_ReadServer) error {
	s := svc.s
	s.mu.Lock()
	stopping := s.stopping
	s.mu.Unlock()
	if err := out.Send(&api.ReadResp{Content: &api.ReadResp_Confirmation{Confirmation: &api.ReadResp_SubscriptionConfirmation{
		SubscriptionId: uuidString(randomID(time.Now())),
	}}}); err != nil {
		return err
	}

	// next is the log index of the next record to consider; stream subscriptions consider
	// only their stream's records, by revision.
	var (
		streamName string
		isStream   bool
		next       int
	)
	s.mu.Lock()
	switch so := opts.GetStreamOption().(type) {
	case *api.ReadReq_Options_Stream:
		isStream = true
		streamName = string(so.Stream.GetStreamIdentifier().GetStreamName())
		switch v := so.Stream.GetRevisionOption().(type) {
		case *api.ReadReq_Options_StreamOptions_Revision:
			next = int(v.Revision) + 1 // a subscription from a revision starts after it
		case *api.ReadReq_Options_StreamOptions_End:
			next = len(s.streams[streamName])
		}
	case *api.ReadReq_Options_All:
		switch v := so.All.GetAllOption().(type) {
		case *api.ReadReq_Options_AllOptions_Position:
			// A subscription from a position starts after it.
			next = s.indexLocked(v.Position.GetCommitPosition() + 1)
		case *api.ReadReq_Options_AllOptions_End:
			next = len(s.log)
		}
	default:
		s.mu.Unlock()
		return status.Error(codes.InvalidArgument, "subscription has no stream option")
	}
	s.mu.Unlock()

	ctx := out.Context()
	caughtUp := false
	considered := 0
	for {
		s.mu.Lock()
		var batch []*record
		source := s.log
		if isStream {
			source = s.streams[streamName]
		}
		if next < len(source) {
			end := min(len(source), next+128)
			batch = append(batch, source[next:end]...)
			next = end
		}
		woke := s.appended
		s.mu.Unlock()

		for _, r := range batch {
			if f.match(r) {
				if err := out.Send(eventResp(r)); err != nil {
					return err
				}
			}
			considered++
			if f != nil && !isStream && f.interval > 0 && considered%f.interval == 0 {
				if err := out.Send(checkpoint(r.end)); err != nil {
					return err
				}
			}
		}
		if len(batch) > 0 {
			continue
		}
		if !caughtUp {
			caughtUp = true
			if err := out.Send(&api.ReadResp{Content: &api.ReadResp_CaughtUp_{CaughtUp: &api.ReadResp_CaughtUp{}}}); err != nil {
				return err
			}
		}
		select {
		case <-woke:
		case <-ctx.Done():
			return ctx.Err()
		case <-stopping:
			return status.Error(codes.Unavailable, errStopped.Error())
		}
	}
}

// checkpoint is a filtered subscription's progress report. KurrentDB sends the position
// where its reader continues (the post-position of the last record it considered) with a
// prepare position of 0; it need not be the position of any event.
func checkpoint(next uint64) *api.ReadResp {
	return &api.ReadResp{Content: &api.ReadResp_Checkpoint_{Checkpoint: &api.ReadResp_Checkpoint{CommitPosition: next, PreparePosition: 0}}}
}
