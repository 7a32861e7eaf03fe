// Package kurrentdbtest is an in-process gRPC server that speaks enough of the KurrentDB
// client protocol for EventStore-Client-Go v4 to append, read and subscribe against it.
// Our machines cannot run a real KurrentDB, so the kurrentdb adapter's tests (and any tool
// that wants a disposable log) talk to this server over real gRPC on a real port.
//
// It implements ServerFeatures.GetSupportedMethods, Streams.Append, Streams.Read (stream
// and $all reads, forwards and backwards, filters, catch-up and live subscriptions with
// checkpoints and caught_up), Streams.Delete and Streams.Tombstone. It leaves out
// BatchAppend (never called by the v4.2.0 client), resolving links, stream metadata
// semantics (ACLs, max age and count), persistent subscriptions, projections, gossip
// (single node only), users, operations, authentication and TLS. Data lives in memory and survives Restart, not Stop of
// the process.
package kurrentdbtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/serverfeatures"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// ServerVersion is the KurrentDB version the server reports to clients.
const ServerVersion = "24.10.0"

// record is one stored event. KurrentDB writes every event of an append as its own
// implicitly committed prepare, so each event has commit position == prepare position.
type record struct {
	id          [16]byte
	stream      string
	revision    uint64
	position    uint64
	end         uint64 // post-position: where the next record starts
	eventType   string
	contentType string
	created     int64 // .NET ticks (100 ns) since the Unix epoch
	metadata    []byte
	data        []byte
}

// Server is a running test server. Its methods are safe for concurrent use.
type Server struct {
	addr string

	mu      sync.Mutex
	log     []*record
	streams map[string][]*record
	deleted map[string]uint64 // stream -> first readable revision after a soft delete
	// tombstoned streams are deleted for good: reads and writes fail with stream-deleted.
	tombstoned map[string]bool
	nextPos    uint64
	appended   chan struct{} // closed and replaced on every append, to wake subscriptions
	delay      time.Duration
	grpc       *grpc.Server
	lis        net.Listener
	stopping   chan struct{} // closed by Stop to end live subscriptions
}

// Start listens on addr ("127.0.0.1:0" picks a free port), seeds the log with a few
// system events as a fresh KurrentDB node has, and serves until Stop.
func Start(addr string) (*Server, error) {
	s := &Server{
		streams:    make(map[string][]*record),
		deleted:    make(map[string]uint64),
		tombstoned: make(map[string]bool),
		appended:   make(chan struct{}),
		// A real log starts after a chunk header, so no record is at position 0, which
		// clients use to mean "the start".
		nextPos: 128,
	}
	s.seed()
	if err := s.serve(addr); err != nil {
		return nil, err
	}
	return s, nil
}

// seed writes the system events a new node starts with, so that readers and filters
// have `$`-prefixed types and streams to skip.
func (s *Server) seed() {
	now := time.Now()
	sys := []struct{ stream, typ, data string }{
		{"$$$scavenges", "$metadata", `{"$maxAge":2592000}`},
		{"$$$stats-127.0.0.1:2113", "$metadata", `{"$maxAge":86400}`},
		{"$settings", "$settings", `{"$userStreamAcl":{}}`},
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range sys {
		s.appendLocked(e.stream, []proposed{{id: randomID(now), eventType: e.typ, contentType: "application/json", data: []byte(e.data)}}, now)
	}
}

func (s *Server) serve(addr string) error {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("kurrentdbtest: listen %s: %w", addr, err)
	}
	g := grpc.NewServer(
		// The client pings every 10 s even when idle; grpc-go's default policy would answer
		// GOAWAY too_many_pings and drop long subscriptions.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
		grpc.UnaryInterceptor(s.unaryDelay),
		grpc.StreamInterceptor(s.streamDelay),
	)
	api.RegisterStreamsServer(g, &streamsService{s: s})
	serverfeatures.RegisterServerFeaturesServer(g, &featuresService{})
	s.mu.Lock()
	s.addr = lis.Addr().String()
	s.grpc = g
	s.lis = lis
	s.stopping = make(chan struct{})
	s.mu.Unlock()
	go func() { _ = g.Serve(lis) }()
	return nil
}

// Addr returns the host:port the server listens on.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// URL returns the connection string for the client: esdb://host:port?tls=false.
func (s *Server) URL() string { return "esdb://" + s.Addr() + "?tls=false" }

// Stop closes the listener and every connection; open calls and subscriptions fail on
// the client as the network would make them. The data is kept for Restart.
func (s *Server) Stop() {
	s.mu.Lock()
	g, stopping := s.grpc, s.stopping
	s.grpc = nil
	if stopping != nil {
		select {
		case <-stopping:
		default:
			close(stopping)
		}
	}
	s.mu.Unlock()
	if g != nil {
		g.Stop()
	}
}

// Restart stops the server if it runs and serves again on the same address with the
// same data, as a node that crashed and came back. Fault tests use it.
func (s *Server) Restart() error {
	s.Stop()
	addr := s.Addr()
	var err error
	// The port may take a moment to be free again after the listener closed.
	for i := 0; i < 50; i++ {
		if err = s.serve(addr); err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

// SetDelay makes every call wait d before it is handled (0 turns it off), to simulate a
// slow or overloaded node. It applies to every call, including the client's first
// GetSupportedMethods, and to a subscription before its confirmation.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	s.delay = d
	s.mu.Unlock()
}

func (s *Server) wait(ctx context.Context) error {
	s.mu.Lock()
	d := s.delay
	s.mu.Unlock()
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Server) unaryDelay(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if err := s.wait(ctx); err != nil {
		return nil, err
	}
	return h(ctx, req)
}

func (s *Server) streamDelay(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if err := s.wait(ss.Context()); err != nil {
		return err
	}
	return h(srv, ss)
}

// proposed is an event of an append request, before it is stored.
type proposed struct {
	id          [16]byte
	eventType   string
	contentType string
	metadata    []byte
	data        []byte
}

// appendLocked stores events at the end of stream and returns the stored records. The
// caller holds s.mu and has checked the expected revision.
func (s *Server) appendLocked(stream string, events []proposed, now time.Time) []*record {
	ticks := now.UnixNano() / 100
	out := make([]*record, 0, len(events))
	for _, e := range events {
		r := &record{
			id:          e.id,
			stream:      stream,
			revision:    uint64(len(s.streams[stream])),
			position:    s.nextPos,
			eventType:   e.eventType,
			contentType: e.contentType,
			created:     ticks,
			metadata:    e.metadata,
			data:        e.data,
		}
		// Positions are byte offsets in KurrentDB's transaction log: advance by roughly the
		// size of the record so they grow unevenly, as real ones do.
		s.nextPos += uint64(64 + len(stream) + len(e.eventType) + len(e.metadata) + len(e.data))
		r.end = s.nextPos
		s.log = append(s.log, r)
		s.streams[stream] = append(s.streams[stream], r)
		out = append(out, r)
	}
	if len(out) > 0 {
		close(s.appended)
		s.appended = make(chan struct{})
	}
	return out
}

// lastRevision returns the stream's last revision and whether it has any readable event.
func (s *Server) lastRevisionLocked(stream string) (uint64, bool) {
	evs := s.streams[stream]
	if len(evs) == 0 || uint64(len(evs)) <= s.deleted[stream] {
		return 0, false
	}
	return uint64(len(evs) - 1), true
}

var errStopped = errors.New("kurrentdbtest: server stopped")

type featuresService struct {
	serverfeatures.UnimplementedServerFeaturesServer
}

// GetSupportedMethods answers the client's first call with a numeric version and the
// methods this server implements.
func (featuresService) GetSupportedMethods(context.Context, *shared.Empty) (*serverfeatures.SupportedMethods, error) {
	const svc = "event_store.client.streams.streams"
	return &serverfeatures.SupportedMethods{
		EventStoreServerVersion: ServerVersion,
		Methods: []*serverfeatures.SupportedMethod{
			{ServiceName: svc, MethodName: "read"},
			{ServiceName: svc, MethodName: "append"},
			{ServiceName: svc, MethodName: "delete"},
		},
	}, nil
}
