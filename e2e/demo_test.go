package e2e

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// logEvent is the part of an audit event the demo test reads.
type logEvent struct {
	Position uint64          `json:"position"`
	Type     string          `json:"type"`
	Data     json.RawMessage `json:"data"`
}

// readLog reads the whole global log as an auditor.
func readLog(t *testing.T, s *server, auditor *user) []logEvent {
	t.Helper()
	var all []logEvent
	from := uint64(0)
	for {
		var page struct {
			Events []logEvent `json:"events"`
			Next   uint64     `json:"next"`
		}
		s.get(auditor, "/v1/audit/events?limit=1000&from="+strconv.FormatUint(from, 10), &page)
		all = append(all, page.Events...)
		if len(page.Events) < 1000 {
			return all
		}
		from = page.Next
	}
}

// demoFacts are what the demo's log says: alliances by name and the count of events
// other than the access log's.
type demoFacts struct {
	alliances map[string]string // name -> id
	leads     map[string]string // alliance id -> lead hospital id
	business  int
}

func factsOf(t *testing.T, events []logEvent) demoFacts {
	t.Helper()
	f := demoFacts{alliances: map[string]string{}, leads: map[string]string{}}
	for _, e := range events {
		if e.Type != "RecordsAccessed" {
			f.business++
		}
		if e.Type == "AllianceFounded" {
			var a struct {
				AllianceID     string `json:"allianceId"`
				Name           string `json:"name"`
				LeadHospitalID string `json:"leadHospitalId"`
			}
			if err := json.Unmarshal(e.Data, &a); err != nil {
				t.Fatalf("AllianceFounded payload %s: %v", e.Data, err)
			}
			if _, dup := f.alliances[a.Name]; dup {
				t.Errorf("alliance %q was founded twice", a.Name)
			}
			f.alliances[a.Name], f.leads[a.AllianceID] = a.AllianceID, a.LeadHospitalID
		}
	}
	return f
}

// TestDemoServes runs the README's `allianced demo`: it loads the scenario and serves
// its views; run again on the same data directory it adds nothing.
func TestDemoServes(t *testing.T) {
	srv := startServer(t, serverOptions{Subcommand: "demo"})
	auditor := srv.token(platformID, "", "qc-auditor", "auditor")
	events := readLog(t, srv, &auditor)
	facts := factsOf(t, events)
	head := events[len(events)-1].Position // the views are read once they applied it
	if len(facts.alliances) < 4 {
		t.Fatalf("demo: got alliances %v, want the lymphoma, city, county and district alliances", facts.alliances)
	}
	var lymphoma string
	for name, id := range facts.alliances {
		if strings.Contains(name, "瑞金") {
			lymphoma = id
		}
	}
	if lymphoma == "" {
		t.Fatalf("demo: no Ruijin lymphoma alliance among %v", facts.alliances)
	}
	if !strings.Contains(srv.out.String(), lymphoma) {
		t.Errorf("demo output does not list the lymphoma alliance %s; output:\n%s", lymphoma, srv.out.String())
	}
	lead := srv.token(facts.leads[lymphoma], "hematology", "ruijin-lymphoma-team", "lead")
	al := srv.get(&lead, after("/v1/alliances/"+lymphoma, head), nil)
	if num(al, "members", "active") != 144 || str(al, "kind") != "specialist" {
		t.Errorf("lymphoma alliance view: got %v active members, kind %q; want 144 specialist", field(al, "members"), str(al, "kind"))
	}
	// 李惠利's alliance is led by two departments (消化内科 and 胃肠外科)
	lihuili := 0
	for name, id := range facts.alliances {
		if !strings.Contains(name, "李惠利") {
			continue
		}
		lihuili++
		surgeon := srv.token(facts.leads[id], "gi-surgery", "lihuili-gi-surgery", "lead")
		v := srv.get(&surgeon, after("/v1/alliances/"+id, head), nil)
		if got := mustJSON(t, field(v, "leadDepartments")); got != `["gastroenterology","gi-surgery"]` {
			t.Errorf("李惠利 alliance lead departments: got %s, want gastroenterology and gi-surgery", got)
		}
		// each department answered its own consult: its queue holds it, and only it
		gastro := srv.token(facts.leads[id], "gastroenterology", "lihuili-alliance-office", "lead")
		for _, u := range []*user{&surgeon, &gastro} {
			items := list(srv.get(u, after("/v1/alliances/"+id+"/consults?status=answered", head), nil), "items")
			if len(items) != 1 || str(items[0], "leadDepartmentId") != u.Department {
				t.Errorf("李惠利 %s's answered consults: %v, want its one", u.Department, items)
			}
		}
	}
	if lihuili != 1 {
		t.Errorf("demo: %d 李惠利 alliances among %v, want 1", lihuili, facts.alliances)
	}
	members := srv.get(&lead, after("/v1/alliances/"+lymphoma+"/members", head), nil)
	if got := len(list(members, "items")); got != 144 {
		t.Errorf("lymphoma roster: got %d members, want 144", got)
	}
	matrix := srv.get(&lead, after("/v1/alliances/"+lymphoma+"/adoption-matrix", head), nil)
	if len(list(matrix, "protocols")) == 0 || len(list(matrix, "rows")) == 0 {
		t.Errorf("lymphoma adoption matrix: got %v, want the R-CHOP protocol and adopting members", matrix)
	}
	plans := srv.get(&lead, after("/v1/hospitals/"+facts.leads[lymphoma]+"/plans", head), nil)
	if len(list(plans, "items")) == 0 {
		t.Errorf("Ruijin's plans: got none, want the demo's DLBCL plan")
	}
	hospitals := srv.get(&auditor, after("/v1/hospitals", head), nil)
	if got := len(list(hospitals, "items")); got < 144+20 {
		t.Errorf("hospital directory: got %d hospitals, want at least %d", got, 144+20)
	}

	// The second run on the same data directory recognises every command.
	srv.restart()
	again := factsOf(t, readLog(t, srv, &auditor))
	m := regexp.MustCompile(`(\d+) commands \((\d+) already done before\)`).FindStringSubmatch(srv.out.String())
	if m == nil || m[1] != m[2] {
		t.Errorf("second demo run: want every command recognised as already done; output:\n%s", srv.out.String())
	}
	if again.business != facts.business {
		t.Errorf("second demo run: got %d events besides the access log, want %d (nothing appended)", again.business, facts.business)
	}
	if r := srv.request(&lead, http.MethodGet, "/v1/alliances/"+lymphoma, nil); r.Status != http.StatusOK {
		t.Errorf("after the second run: GET the lymphoma alliance got %d", r.Status)
	}
}
