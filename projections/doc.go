// Package projections turns the global event log into Redis read models (views) and
// answers the HTTP layer's queries from them.
//
// # Projector
//
// A Projector follows the log through the event-store port: it catches up with ReadAll
// pages (reading the next page while the current one commits), then subscribes from
// the last applied position. Each run of events is applied in one Redis MULTI/EXEC that
// also sets the checkpoint (the global position of the last applied event), under
// WATCH of the checkpoint: the transaction first reads the stored checkpoint, drops
// events at or below it (a duplicate delivery or a replay) and refuses to go on if the
// checkpoint is behind what the writer applied (so no event is ever skipped). A crash
// at any point leaves the views exactly at some checkpoint, and a restart resumes from
// it. Documents that need read-modify-write (a plan's view, an alliance's member row)
// are loaded from Redis at the start of each transaction attempt into a per-batch
// cache, changed in memory, and written back once in the EXEC. A commit costs two round
// trips: WATCH pipelined with the reads (checkpoint, current generation, documents),
// then MULTI/EXEC. The documents of the last commit stay cached for the next batch
// only while the stored checkpoint is still the one that commit wrote (every write to a
// generation sets its checkpoint in the same EXEC, so nobody else wrote meanwhile);
// otherwise, and after any failed attempt, they are read again.
//
// Plan changes and checkpoint advances are published inside the EXEC: Redis runs the
// transaction as one step, so they go out only if it commits, and a subscriber's
// re-read is served after the changes are visible (the same guarantee as publishing
// after EXEC, one round trip cheaper). Events this build cannot decode (a newer
// build's types) are logged, counted in Status().Skipped and passed over; a rebuild by
// a newer build projects them. When the stored checkpoint is beyond the head of the log
// (the event store was replaced), the projector starts a fresh generation.
//
// One projector writes a generation at a time: it holds the lease key
// <prefix>:lease:<gen> (SET NX PX, renewed every third of its TTL by a compare-and-
// PEXPIRE script). Other replicas stand by and take over when the lease expires or is
// released. The lease only avoids wasted work; the WATCH fence above keeps the views
// correct even while two writers overlap during a hand-over.
//
// # Key layout
//
// Every key starts with a configurable prefix so several environments share one Redis.
// The views live under a generation name, so a rebuild can build a new generation while
// the old one serves:
//
//	<prefix>:current                              string: the generation queries read
//	<prefix>:lease:<gen>                          string: the writer's lease token (PX)
//	<prefix>:generation                           channel: a new generation name on a switch
//	<prefix>:checkpoints                          channel: "<gen> <position>" after each commit
//	<prefix>:plan-changes:<planID>                channel: the position of each change to a plan
//	<prefix>:<gen>:checkpoint                     string: last applied global position
//	<prefix>:<gen>:catchup                        string: the head of the log when the projector last
//	                                              (re)started on the generation (see Readiness)
//	<prefix>:<gen>:degraded                       hash: document name -> Degradation (see degraded.go)
//	<prefix>:<gen>:degraded-keys                  hash: key -> how many of its documents are degraded
//	<prefix>:<gen>:plan:<planID>                  hash: json (the PlanView), responsible, lead,
//	                                              leadDepartment, alliance, version, position,
//	                                              degraded (when it is)
//	<prefix>:<gen>:hospitals                      hash: hospitalID -> HospitalView
//	<prefix>:<gen>:hospital:<id>:plans            zset: planID scored by the next due step (unix s)
//	<prefix>:<gen>:hospital:<id>:plan-summaries   hash: planID -> PlanSummary
//	<prefix>:<gen>:hospital:<id>:dispatches       hash: dispatchID -> DispatchView (requested or served)
//	<prefix>:<gen>:hospital:<id>:consults         hash: consultID -> ConsultSummary (role requested/received)
//	<prefix>:<gen>:alliance:<id>                  string: AllianceView (lead, member counts)
//	<prefix>:<gen>:alliance:<id>:members          hash: hospitalID -> MemberView (roster)
//	<prefix>:<gen>:alliance:<id>:protocols        hash: protocolID -> ProtocolView (catalogue, versions)
//	<prefix>:<gen>:alliance:<id>:adoptions        hash: "<protocolID>:<hospitalID>" -> AdoptionView
//	<prefix>:<gen>:alliance:<id>:consults         hash: consultID -> ConsultSummary
//	<prefix>:<gen>:alliance:<id>:consult-queue    zset: open consultIDs scored by deadline (unix ms)
//	<prefix>:<gen>:dispatch:<id>                  string: DispatchView
//	<prefix>:<gen>:consult:<id>                   string: ConsultView
//	<prefix>:<gen>:expert:<id>:calendar           hash: dispatchID -> CalendarEntry (live bookings)
//	<prefix>:<gen>:practitioner:<id>              string: PractitionerView (directory entry)
//	<prefix>:<gen>:hospital:<id>:practitioners    hash: practitionerID -> PractitionerView (home hospital)
//	<prefix>:<gen>:protocol:<id>:v<n>:plans       set: planIDs following that protocol version
//	<prefix>:<gen>:centre:<id>..., diagnostic:<id>  diagnostic centres and studies: see views_diagnostic.go
//	<prefix>:<gen>:report:<alliance>:..., report:e:<key>  the alliance report's buckets and samples, and its facts' state: see views_report.go
//
// Derived facts that depend on the reader's clock (a consult being overdue) or on other
// documents (an adoption being behind the latest published version) are computed when
// read, so no event ever has to fan out to many documents.
//
// # Queries
//
// Queries reads one generation in one MULTI/EXEC round trip that also returns the
// checkpoint and the current generation name (cached in process, invalidated over
// pub/sub, and re-checked in the same transaction), so a read never mixes generations
// and never sees a half-built one. With minPos > 0 a read waits, bounded by a timeout,
// until the checkpoint reached minPos (read-your-writes); it is woken by the in-process
// projector or by the checkpoint channel.
//
// # Degraded documents
//
// An event a view cannot apply (a value it cannot encode, a stored document that does
// not decode, a bug) does not stop the projector: the documents it was changing are
// marked degraded in the same MULTI/EXEC that moves the checkpoint past it, keep the
// state they had before it, and answer CodeViewDegraded (503) until a rebuild after a
// fix; see degraded.go.
//
// # Readiness
//
// When a projector starts on a generation it records the head of the log as the
// generation's catch-up target, and creates its checkpoint (0) if it has none. Until
// the checkpoint reaches the target (or while the generation has no checkpoint at all:
// Redis came back empty, a fresh generation nobody started yet, no generation), a read
// that would answer "not found" answers CodeViewsCatchingUp instead, and Lag says
// CatchingUp. A projector that finds its generation's checkpoint gone (Redis restarted
// empty or was flushed) starts a fresh generation; an idle one notices at its next
// lease renewal.
//
// # Rebuild
//
// Rebuild builds a new generation from position 0, switches <prefix>:current to it
// atomically and deletes the old generation with SCAN and UNLINK; see Rebuild.
package projections
