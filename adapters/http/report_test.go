package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/medalliance/allianced/projections/report"
)

// reportFlow records, over HTTP, one green-channel referral up from m1 admitted within
// the hour, a consult from m2 answered, and an expert visit to m1 with its report, and
// returns the position of the last command.
func reportFlow(t *testing.T, f *fixture, w world) string {
	t.Helper()
	var last string
	ok := func(tok, path, body string) map[string]any {
		t.Helper()
		r := f.do(http.MethodPost, path, tok, body)
		if r.status != 200 && r.status != 201 {
			t.Fatalf("POST %s: got %d %s", path, r.status, r.body)
		}
		last = posOf(t, r)
		return r.json(t)
	}
	ref := "/v1/referrals/" + ok(w.m1Tok, "/v1/referrals", fmt.Sprintf(`{"allianceId":%q,"direction":"up","urgency":"emergency","reason":"主动脉夹层","clinicalSummary":"CTA","medicalRecordNumber":"PN-7"}`, w.alliance))["id"].(string)
	f.clock.Advance(5 * time.Minute)
	ok(w.leadTok, ref+"/accept", fmt.Sprintf(`{"expectedArrival":%q}`, f.clock.Now().Add(20*time.Minute).Format(time.RFC3339)))
	f.clock.Advance(20 * time.Minute)
	ok(w.leadTok, ref+"/arrive", ``)
	f.clock.Advance(17 * time.Minute)
	ok(w.leadTok, ref+"/admit", ``)
	c := "/v1/consults/" + ok(w.m2Tok, "/v1/consults", fmt.Sprintf(`{"allianceId":%q,"specialty":"haematology","urgency":"urgent","question":"?","consentRef":"c-1","medicalRecordNumber":"ZY-1"}`, w.alliance))["id"].(string)
	ok(w.leadTok, c+"/accept", `{}`)
	f.clock.Advance(30 * time.Minute)
	ok(w.leadTok, c+"/opinion", `{"text":"R-CHOP"}`)
	d := "/v1/dispatches/" + ok(w.m1Tok, "/v1/dispatches", fmt.Sprintf(`{"allianceId":%q,"kind":"clinic","specialty":"haematology","window":{"start":%q,"end":%q}}`,
		w.alliance, f.clock.Now().Format(time.RFC3339), f.clock.Now().Add(8*time.Hour).Format(time.RFC3339)))["id"].(string)
	exp := ok(w.leadTok, "/v1/practitioners", fmt.Sprintf(`{"hospitalId":%q,"departmentId":"haem","name":"王主任","title":"主任医师","specialties":["淋巴瘤"]}`, w.lead))["id"].(string)
	ok(w.leadTok, d+"/assign", `{"expertId":"`+exp+`","expertName":"王主任"}`)
	ok(w.m1Tok, d+"/check-in", ``)
	ok(w.leadTok, d+"/report", `{"patientsSeen":31,"proceduresGuided":2,"teachingSessions":1,"summary":"lymphoma clinic"}`)
	ok(w.m1Tok, d+"/complete", ``)
	return last
}

// TestAllianceReportFormsAndAccess: the report in its three forms, and who reads what:
// the lead department and auditors every member's row, a member its own row and the
// totals, a department of the lead hospital that does not lead the alliance, an
// outsider and a probe of an unknown alliance the generic 403.
func TestAllianceReportFormsAndAccess(t *testing.T) {
	f := newFixture(t, withViews(t))
	w := f.world()
	last := reportFlow(t, f, w)
	al := "/v1/alliances/" + w.alliance
	q := "?period=2026-11&minPosition=" + last

	get := func(tok, path string) reply {
		t.Helper()
		return f.do(http.MethodGet, path, tok, "")
	}
	decode := func(r reply) report.Report {
		t.Helper()
		if r.status != 200 {
			t.Fatalf("got %d %s", r.status, r.body)
		}
		var rep report.Report
		if err := json.Unmarshal(r.body, &rep); err != nil {
			t.Fatal(err)
		}
		return rep
	}
	rows := func(rep report.Report) []string {
		var ids []string
		for _, m := range rep.Members {
			ids = append(ids, m.HospitalID)
		}
		return ids
	}
	lead := decode(get(w.leadTok, al+"/report"+q))
	tot := lead.Total
	if tot.Referrals.Up != 1 || tot.Referrals.GreenChannel.Admitted != 1 || tot.Referrals.GreenChannel.MedianMinutes == nil ||
		*tot.Referrals.GreenChannel.MedianMinutes != 42 || *tot.Referrals.GreenChannel.ShareWithinTarget != 1 {
		t.Fatalf("green channel: %+v", tot.Referrals)
	}
	if tot.Consults.Answered != 1 || *tot.Consults.MedianResponseMinutes != 30 || tot.Visits.Completed != 1 || tot.Visits.PatientsSeen != 31 {
		t.Fatalf("consults and visits: %+v %+v", tot.Consults, tot.Visits)
	}
	if got := strings.Join(rows(lead), ","); !strings.Contains(got, w.m1) || !strings.Contains(got, w.m2) {
		t.Fatalf("the lead's rows: %s", got)
	}
	if lead.Members[0].Name == "" {
		t.Fatal("rows carry no hospital name")
	}
	if aud := decode(get(w.auditor, al+"/report"+q)); len(aud.Members) != len(lead.Members) {
		t.Fatalf("the auditor reads %d rows, the lead %d", len(aud.Members), len(lead.Members))
	}
	own := decode(get(w.m1Tok, al+"/report"+q))
	if got := rows(own); len(got) != 1 || got[0] != w.m1 || own.Total.Referrals.Up != 1 || own.Total.Consults.Answered != 1 {
		t.Fatalf("the member reads rows %v and totals %+v", got, own.Total)
	}
	// As of the day before, nothing had happened yet.
	before := decode(get(w.leadTok, al+"/report?period=2026-11&asOf=2026-11-22&minPosition="+last))
	if before.Total.Referrals.Up != 0 || before.AsOf != "2026-11-22" || len(before.Members) != 0 {
		t.Fatalf("as of the day before: %+v", before)
	}

	csv := get(w.m1Tok, al+"/report.csv"+q)
	if csv.status != 200 || !strings.HasPrefix(csv.header.Get("Content-Type"), "text/csv") || !bytes.HasPrefix(csv.body, []byte("\ufeff")) {
		t.Fatalf("CSV: %d %v", csv.status, csv.header)
	}
	lines := strings.Split(strings.TrimSpace(string(csv.body)), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "greenChannelMedianMinutes") || !strings.Contains(lines[1], ",alliance,") || !strings.Contains(lines[2], w.m1) {
		t.Fatalf("CSV of the member: %q", lines)
	}
	if strings.Contains(string(csv.body), w.m2) {
		t.Fatal("a member's CSV names another member")
	}
	html := get(w.leadTok, al+"/report.html"+q)
	if html.status != 200 || !strings.HasPrefix(html.header.Get("Content-Type"), "text/html") ||
		strings.Count(string(html.body), "<svg") < 4 || !strings.Contains(string(html.body), "淋巴瘤专科联盟") || strings.Contains(string(html.body), "<script") {
		t.Fatalf("HTML: %d %s", html.status, html.body)
	}

	outsider := f.mustCreate("/v1/hospitals", w.admin, `{"name":"外院","regionCode":"320101","level":"secondary","departments":[{"id":"haem","name":"血液科"}]}`)
	for name, tok := range map[string]string{
		"an outsider":                     f.token("dr-x", outsider, "haem", "member"),
		"an outsider calling itself lead": f.token("dr-x", outsider, "haem", "lead"),
		"another department of the lead":  f.token("dr-y", w.lead, "cardiology", "lead"),
	} {
		for _, form := range []string{"/report", "/report.csv", "/report.html"} {
			r := get(tok, al+form+q)
			if r.status != 403 || r.code(t) != "forbidden" || strings.Contains(string(r.body), w.alliance) {
				t.Errorf("%s reading %s: got %d %s", name, form, r.status, r.body)
			}
		}
	}
	if r := get(w.m1Tok, "/v1/alliances/01J0000000000000000000ZZZZ/report"); r.status != 403 {
		t.Errorf("a member probing an unknown alliance: got %d %s", r.status, r.body)
	}
	for _, bad := range []string{"?period=2026-13", "?period=2026-Q5", "?period=26", "?asOf=2026-02-30", "?asOf=yesterday", "?period=%2B026"} {
		if r := get(w.leadTok, al+"/report"+bad); r.status != 400 || r.code(t) != "invalid_input" {
			t.Errorf("GET report%s: got %d %s", bad, r.status, r.body)
		}
	}
}
