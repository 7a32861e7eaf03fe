package fhir

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/medalliance/allianced/domain"
)

// ExportRequest is one bulk export ($export) as kicked off.
type ExportRequest struct {
	// Owner names who kicked it off (hospital and user); only the owner reads it.
	Owner string
	// Group is the alliance of a Group/{id}/$export ("" for the whole system).
	Group string
	// Types limits the resource types (_type); empty: every type.
	Types []string
	// Request is the kick-off URL, echoed in the manifest.
	Request string
}

// ExportFile is one NDJSON output file of a finished export.
type ExportFile struct {
	Type  string `json:"type"`
	URL   string `json:"url"`
	Count int    `json:"count"`
	path  string
}

// ExportJob is one export: running, finished or failed.
type ExportJob struct {
	ID  string
	Req ExportRequest

	mu              sync.Mutex
	progress        string
	done            bool
	err             error
	transactionTime time.Time
	files           []ExportFile
	dir             string
	cancel          context.CancelFunc
	finished        time.Time
	resources       int
}

// Status returns the job's progress text, whether it finished, its error, the
// transaction time (the log position's time: the export is of the log as of its
// kick-off) and its files.
func (j *ExportJob) Status() (progress string, done bool, err error, tt time.Time, files []ExportFile) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.progress, j.done, j.err, j.transactionTime, slices.Clone(j.files)
}

// Resources returns how many resources the finished export wrote.
func (j *ExportJob) Resources() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.resources
}

// File returns the path of the job's output file of typ.
func (j *ExportJob) File(typ string) (string, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, f := range j.files {
		if f.Type == typ {
			return f.path, true
		}
	}
	return "", false
}

func (j *ExportJob) set(progress string) {
	j.mu.Lock()
	j.progress = progress
	j.mu.Unlock()
}

// Exporter runs bulk exports in the background, one NDJSON file per resource type in a
// temporary directory, and keeps finished jobs for Keep.
type Exporter struct {
	log   Log
	now   func() time.Time
	newID func() string
	Keep  time.Duration

	mu   sync.Mutex
	jobs map[string]*ExportJob
}

// NewExporter returns an exporter over log.
func NewExporter(log Log, now func() time.Time, newID func() string) *Exporter {
	return &Exporter{log: log, now: now, newID: newID, Keep: time.Hour, jobs: map[string]*ExportJob{}}
}

// maxJobs bounds the jobs kept at once (running and finished, all owners).
const maxJobs = 16

// Start kicks an export off and returns its job at once.
func (x *Exporter) Start(req ExportRequest) (*ExportJob, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.expire()
	if len(x.jobs) >= maxJobs {
		return nil, domain.Errorf(domain.CodeUnavailable, "too many exports are kept; delete a finished one or retry later")
	}
	dir, err := os.MkdirTemp("", "allianced-export-")
	if err != nil {
		return nil, fmt.Errorf("export directory: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	j := &ExportJob{ID: x.newID(), Req: req, progress: "starting", dir: dir, cancel: cancel}
	x.jobs[j.ID] = j
	go x.run(ctx, j)
	return j, nil
}

// Job returns a job by id.
func (x *Exporter) Job(id string) (*ExportJob, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	j, ok := x.jobs[id]
	return j, ok
}

// Delete cancels a job and removes its files.
func (x *Exporter) Delete(id string) {
	x.mu.Lock()
	j, ok := x.jobs[id]
	delete(x.jobs, id)
	x.mu.Unlock()
	if ok {
		j.cancel()
		j.mu.Lock()
		_ = os.RemoveAll(j.dir)
		j.mu.Unlock()
	}
}

func (x *Exporter) expire() {
	for id, j := range x.jobs {
		j.mu.Lock()
		old := j.done && x.now().Sub(j.finished) > x.Keep
		j.mu.Unlock()
		if old {
			delete(x.jobs, id)
			j.cancel()
			_ = os.RemoveAll(j.dir)
		}
	}
}

func (x *Exporter) run(ctx context.Context, j *ExportJob) {
	n, err := x.export(ctx, j)
	j.mu.Lock()
	j.done, j.err, j.finished, j.resources = true, err, x.now(), n
	if err == nil {
		j.progress = "done"
	}
	j.mu.Unlock()
}

// export folds the log up to its head at kick-off and writes the selected resources.
func (x *Exporter) export(ctx context.Context, j *ExportJob) (int, error) {
	head, err := x.log.Head(ctx)
	if err != nil {
		return 0, err
	}
	f := NewFold()
	f.KeepChanges = true
	var last time.Time
	for f.Position < head {
		recs, err := x.log.ReadAll(ctx, f.Position, pageSize)
		if err != nil {
			return 0, err
		}
		if len(recs) == 0 {
			break
		}
		dec := eventstore.DecodeAll(recs)
		for i, rec := range recs {
			if rec.Position > head {
				break
			}
			f.ApplyDecoded(rec, dec[i].Envelope, dec[i].Event, dec[i].Err)
			if dec[i].Err == nil {
				last = dec[i].Envelope.OccurredAt
			}
		}
		j.set(fmt.Sprintf("reading the log: %d%%", int(float64(f.Position)*100/float64(max(head, 1)))))
	}
	j.mu.Lock()
	j.transactionTime = last
	j.mu.Unlock()
	sel := Select(f, j.Req.Group)
	types := Types
	if len(j.Req.Types) > 0 {
		types = j.Req.Types
	}
	total := 0
	for i, typ := range types {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		j.set(fmt.Sprintf("writing %s (%d of %d types)", typ, i+1, len(types)))
		path := filepath.Join(j.dir, typ+".ndjson")
		n, err := writeNDJSON(path, func(emit func(Lazy) error) error { return sel.EachLazy(typ, emit) })
		if err != nil {
			return total, err
		}
		total += n
		if n > 0 {
			j.mu.Lock()
			j.files = append(j.files, ExportFile{Type: typ, Count: n, path: path})
			j.mu.Unlock()
		}
	}
	return total, nil
}

// Encode returns a resource body's JSON. The library's resources marshal themselves
// (adding resourceType); calling that directly spares encoding/json a second pass over
// the result.
func Encode(body any) ([]byte, error) {
	if m, ok := body.(json.Marshaler); ok {
		return m.MarshalJSON()
	}
	return json.Marshal(body)
}

// encodeChunk is how many resources one worker encodes at a time.
const encodeChunk = 256

// Lazy maps its resources when called: the export hands the mapping, with the
// encoding, to its workers.
type Lazy func() []Resource

// writeNDJSON writes the resources each emits to path, one JSON line each. The
// resources are mapped and encoded in chunks on every processor and written in their
// order.
func writeNDJSON(path string, each func(emit func(Lazy) error) error) (n int, err error) {
	file, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer func() {
		if cerr := file.Close(); err == nil {
			err = cerr
		}
	}()
	w := bufio.NewWriterSize(file, 1<<16)
	type chunk struct {
		rs   []Lazy
		out  []byte
		n    int
		err  error
		done chan struct{}
	}
	work := make(chan *chunk)
	order := make(chan *chunk, runtime.GOMAXPROCS(0)*2)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
			lazies:
				for _, l := range c.rs {
					for _, r := range l() {
						b, err := Encode(r.Body)
						if err != nil {
							c.err = err
							break lazies
						}
						c.out = append(append(c.out, b...), '\n')
						c.n++
					}
				}
				close(c.done)
			}
		}()
	}
	var werr error
	written := make(chan struct{})
	go func() {
		defer close(written)
		for c := range order {
			<-c.done
			n += c.n
			if werr == nil && c.err != nil {
				werr = c.err
			}
			if werr == nil {
				_, werr = w.Write(c.out)
			}
		}
	}()
	cur := &chunk{done: make(chan struct{})}
	flush := func() {
		order <- cur
		work <- cur
		cur = &chunk{done: make(chan struct{})}
	}
	err = each(func(l Lazy) error {
		cur.rs = append(cur.rs, l)
		if len(cur.rs) == encodeChunk {
			flush()
		}
		return nil
	})
	if len(cur.rs) > 0 {
		flush()
	}
	close(work)
	close(order)
	wg.Wait()
	<-written
	if err != nil {
		return n, err
	}
	if werr != nil {
		return n, werr
	}
	return n, w.Flush()
}

// Selection is the part of a fold an export (or a group) covers.
type Selection struct {
	f     *Fold
	group string
	aggs  map[string]bool // streams in the selection
	refs  map[string]bool // "Type/id" of the selected aggregate resources
}

// Select returns the resources of a fold an export of group covers: everything when
// group is "", else the alliance's own facts (the alliance and its memberships,
// protocols, plans, referrals, consults, dispatches), the hospitals it names (lead and
// members) with their departments and practitioners, the Provenance of those
// aggregates' events, and the AuditEvents of reads of them.
func Select(f *Fold, group string) *Selection {
	s := &Selection{f: f, group: group, aggs: map[string]bool{}, refs: map[string]bool{}}
	hospitals := map[string]bool{}
	if group != "" {
		if a := f.Get(KindAlliance, group); a != nil {
			al := a.State.(domain.Alliance)
			hospitals[al.LeadHospitalID] = true
			for _, m := range al.Members {
				hospitals[m.HospitalID] = true
			}
		}
	}
	for stream, a := range f.Aggs {
		if a.State == nil {
			continue
		}
		in := group == ""
		if !in {
			switch st := a.State.(type) {
			case domain.Hospital:
				in = hospitals[st.ID]
			case domain.Practitioner:
				in = hospitals[st.HomeHospitalID]
			default:
				in = AllianceOf(a) == group
			}
		}
		if in {
			s.aggs[stream] = true
			for _, r := range resourceRefs(a) {
				s.refs[r] = true
			}
		}
	}
	return s
}

// Each calls emit with every selected resource of typ, in a stable order.
func (s *Selection) Each(typ string, emit func(Resource) error) error {
	return s.EachLazy(typ, func(l Lazy) error {
		for _, r := range l() {
			if err := emit(r); err != nil {
				return err
			}
		}
		return nil
	})
}

// EachLazy is Each with the mapping left to the caller (see Lazy).
func (s *Selection) EachLazy(typ string, emit func(Lazy) error) error {
	switch typ {
	case "Provenance":
		for _, c := range s.f.Changes {
			if !s.aggs[c.Stream] {
				continue
			}
			if err := emit(func() []Resource {
				if r, ok := Provenance(c); ok {
					return []Resource{r}
				}
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	case "AuditEvent":
		for _, a := range s.f.Audits {
			if s.group != "" && !s.refs[AuditTarget(a)] {
				continue
			}
			if err := emit(func() []Resource { return []Resource{AuditEvent(a)} }); err != nil {
				return err
			}
		}
		return nil
	}
	kinds := KindsOf(typ)
	for _, kind := range kinds {
		for _, a := range s.f.OfKind(kind) {
			if !s.aggs[a.Stream] {
				continue
			}
			if err := emit(func() []Resource {
				var out []Resource
				for _, r := range ResourcesOf(a) {
					if r.Type == typ {
						out = append(out, r)
					}
				}
				return out
			}); err != nil {
				return err
			}
		}
	}
	return nil
}

// ParseTypes reads _type (comma-separated resource types).
func ParseTypes(v string) ([]string, error) {
	if v == "" {
		return nil, nil
	}
	var out []string
	for _, t := range strings.Split(v, ",") {
		t = strings.TrimSpace(t)
		if !KnownType(t) {
			return nil, domain.Errorf(domain.CodeInvalidInput, "_type names %q, which this server does not export", truncate(t, 40))
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// ErrJobNotFound is returned for an unknown or another owner's export job.
var ErrJobNotFound = errors.New("export job not found")
