package e2e

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// reportFigures is the part of the report's JSON the e2e test reads.
type reportFigures struct {
	Referrals struct {
		Up           int64 `json:"up"`
		Down         int64 `json:"down"`
		GreenChannel struct {
			Admitted      int64    `json:"admitted"`
			WithinTarget  int64    `json:"withinTarget"`
			MedianMinutes *float64 `json:"medianMinutes"`
			P90Minutes    *float64 `json:"p90Minutes"`
		} `json:"greenChannel"`
	} `json:"referrals"`
	Consults struct {
		Answered int64 `json:"answered"`
	} `json:"consults"`
	Visits struct {
		Completed    int64 `json:"completed"`
		PatientsSeen int64 `json:"patientsSeen"`
	} `json:"visits"`
	Plans struct {
		Started int64 `json:"started"`
	} `json:"plans"`
	Adherence struct {
		StepsRecorded int64    `json:"stepsRecorded"`
		Share         *float64 `json:"share"`
	} `json:"adherence"`
	Talent struct {
		MentoringSessions int64 `json:"mentoringSessions"`
	} `json:"talent"`
	Diagnostics struct {
		Kinds []struct {
			Kind     string `json:"kind"`
			Reported int64  `json:"reported"`
		} `json:"kinds"`
	} `json:"diagnostics"`
}

type reportDoc struct {
	Period struct {
		Key string `json:"key"`
	} `json:"period"`
	AsOf    string        `json:"asOf"`
	Total   reportFigures `json:"total"`
	Members []struct {
		HospitalID string        `json:"hospitalId"`
		Name       string        `json:"name"`
		Figures    reportFigures `json:"figures"`
	} `json:"members"`
}

// quarterKey names the quarter holding t.
func quarterKey(t time.Time) string { return fmt.Sprintf("%04d-Q%d", t.Year(), (int(t.Month())+2)/3) }

// TestDemoAllianceReport is the alliance report of the demo's county community (恒口示范区)
// in its three forms, against the real binary: the year the demo recorded adds up, over
// the quarters as of yesterday, to the seed's figures; the lead department reads every
// township, a township its own row and the totals, an outsider nothing; the CSV has the
// same figures; and the HTML page opens in headless Chromium with its charts drawn and
// no console error (a screenshot and a PDF are kept as artifacts).
func TestDemoAllianceReport(t *testing.T) {
	srv := startServer(t, serverOptions{Subcommand: "demo"})
	auditor := srv.token(platformID, "", "qc-auditor", "auditor")
	events := readLog(t, srv, &auditor)
	facts := factsOf(t, events)
	head := events[len(events)-1].Position
	alliance := facts.alliances["恒口示范区紧密型县域医共体"]
	if alliance == "" {
		t.Fatalf("the demo has no county community: %v", facts.alliances)
	}
	lead := srv.token(facts.leads[alliance], "cardiology", "hengkou-community-office", "lead")
	base := "/v1/alliances/" + alliance + "/report"
	at := fmt.Sprintf("&minPosition=%d", head)

	// The demo's year: the twelve months before today. Summed over the quarters that
	// hold it, as of yesterday (so today's live demo scenes are left out).
	today := time.Now().UTC()
	yesterday := today.AddDate(0, 0, -1).Format(time.DateOnly)
	var sum reportFigures
	var ecg int64
	seen := map[string]bool{}
	for m := today.AddDate(-1, 0, -1); !m.After(today); m = m.AddDate(0, 1, 0) {
		q := quarterKey(m)
		if seen[q] {
			continue
		}
		seen[q] = true
		var rep reportDoc
		srv.get(&lead, base+"?period="+q+"&asOf="+yesterday+at, &rep)
		tot := rep.Total
		sum.Referrals.Up += tot.Referrals.Up
		sum.Referrals.Down += tot.Referrals.Down
		sum.Referrals.GreenChannel.Admitted += tot.Referrals.GreenChannel.Admitted
		sum.Consults.Answered += tot.Consults.Answered
		sum.Visits.Completed += tot.Visits.Completed
		sum.Visits.PatientsSeen += tot.Visits.PatientsSeen
		sum.Plans.Started += tot.Plans.Started
		sum.Talent.MentoringSessions += tot.Talent.MentoringSessions
		ecg += tot.Diagnostics.Kinds[0].Reported
	}
	if sum.Referrals.Up != 130 || sum.Referrals.Down != 36 || sum.Referrals.GreenChannel.Admitted != 30 || sum.Consults.Answered != 120 ||
		sum.Visits.Completed != 240 || sum.Visits.PatientsSeen != 860 || sum.Plans.Started != 30 || sum.Talent.MentoringSessions != 30 || ecg != 150 {
		t.Fatalf("the demo's year over the quarters %v: %+v, %d ECG reports", seen, sum, ecg)
	}

	// The last full quarter, as the lead department sees it.
	last := quarterKey(time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -3, 0))
	var full reportDoc
	srv.get(&lead, base+"?period="+last+at, &full)
	g := full.Total.Referrals.GreenChannel
	if full.Total.Referrals.Up == 0 || full.Total.Visits.PatientsSeen == 0 || full.Total.Adherence.Share == nil || g.MedianMinutes == nil || *g.P90Minutes < *g.MedianMinutes {
		t.Fatalf("quarter %s: %+v", last, full.Total)
	}
	towns := map[string]string{}
	for _, m := range full.Members {
		towns[m.Name] = m.HospitalID
	}
	meizipu := towns["恒口示范区梅子铺镇卫生院"]
	if meizipu == "" || towns["恒口示范区大同镇卫生院"] == "" || towns["恒口示范区关庙镇卫生院"] == "" {
		t.Fatalf("the lead's rows: %v", towns)
	}

	// A township reads its own row and the totals, in JSON and CSV.
	member := srv.token(meizipu, "general-practice", "meizipu-gp", "member")
	var own reportDoc
	srv.get(&member, base+"?period="+last+at, &own)
	ownTotal, _ := json.Marshal(own.Total)
	fullTotal, _ := json.Marshal(full.Total)
	if len(own.Members) != 1 || own.Members[0].HospitalID != meizipu || !bytes.Equal(ownTotal, fullTotal) {
		t.Fatalf("the township's report: %+v", own)
	}
	r := srv.request(&member, http.MethodGet, base+".csv?period="+last+at, nil)
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("CSV: %d %s", r.Status, r.Body)
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(r.Body, []byte("\ufeff")))).ReadAll()
	if err != nil {
		t.Fatalf("CSV: %v", err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	if len(recs) != 3 || recs[1][col["scope"]] != "alliance" || recs[2][col["hospitalId"]] != meizipu ||
		recs[1][col["referralsUp"]] != fmt.Sprint(full.Total.Referrals.Up) || recs[1][col["patientsSeen"]] != fmt.Sprint(full.Total.Visits.PatientsSeen) {
		t.Fatalf("the township's CSV: %q", recs)
	}
	leadCSV := srv.request(&lead, http.MethodGet, base+".csv?period="+last+at, nil)
	if n := strings.Count(strings.TrimSpace(string(leadCSV.Body)), "\n"); leadCSV.Status != 200 || n != 1+len(full.Members) {
		t.Fatalf("the lead's CSV: %d, %d rows", leadCSV.Status, n)
	}

	// Anyone else: the generic 403, whatever the form.
	others := map[string]user{
		"仁济's lead department":                       srv.token(facts.leads[facts.alliances["仁济医院紧密型医联体"]], "cardiology", "renji-office", "lead"),
		"恒口's emergency department (not a lead one)": srv.token(facts.leads[alliance], "emergency", "hengkou-er", "lead"),
	}
	for who, u := range others {
		for _, form := range []string{"", ".csv", ".html"} {
			r := srv.request(&u, http.MethodGet, base+form+"?period="+last+at, nil)
			if r.Status != http.StatusForbidden || strings.Contains(string(r.Body), alliance) {
				t.Errorf("%s reading report%s: got %d %s", who, form, r.Status, r.Body)
			}
		}
	}

	// The printable page in headless Chromium.
	page := srv.request(&lead, http.MethodGet, base+".html?period="+last+at, nil)
	if page.Status != 200 || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") || strings.Count(string(page.Body), "<svg") < 4 {
		t.Fatalf("HTML: %d %.300s", page.Status, page.Body)
	}
	openInBrowser(t, srv.base+base+".html?period="+last, lead.Token)
}

// openInBrowser runs e2e/browser/report.mjs on url. Without chromium or the driver's
// node_modules it skips, saying what to install, unless REQUIRE_BROWSER=1 (CI) makes
// that a failure.
func openInBrowser(t *testing.T, url, token string) {
	t.Helper()
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	var missing []string
	if _, err := os.Stat(chromium); err != nil {
		missing = append(missing, chromium+" (apt-get install -y chromium)")
	}
	if _, err := os.Stat(filepath.Join("browser", "node_modules", "playwright-core")); err != nil {
		missing = append(missing, "e2e/browser/node_modules (cd e2e/browser && npm ci)")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing = append(missing, "node")
	}
	if len(missing) > 0 {
		msg := "the HTML report's browser check needs " + strings.Join(missing, ", ")
		if os.Getenv("REQUIRE_BROWSER") == "1" {
			t.Fatal(msg + " (REQUIRE_BROWSER=1)")
		}
		t.Skip(msg)
	}
	out := os.Getenv("ARTIFACT_DIR")
	if out == "" {
		out = "artifacts"
	}
	out, err = filepath.Abs(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "report.mjs", url, token, out)
	cmd.Dir = "browser"
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var res struct {
		Title  string `json:"title"`
		Rows   int    `json:"rows"`
		Charts []struct {
			Label  string `json:"label"`
			Shapes int    `json:"shapes"`
		} `json:"charts"`
		Problems []string `json:"problems"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &res); err != nil || runErr != nil || len(res.Problems) > 0 {
		t.Fatalf("the report page in chromium: %v\nproblems: %q\nstdout: %s\nstderr: %s", runErr, res.Problems, stdout.String(), stderr.String())
	}
	if len(res.Charts) < 6 || res.Rows < 4 || !strings.Contains(res.Title, "恒口") {
		t.Fatalf("the page in chromium: %+v", res)
	}
	if st, err := os.Stat(filepath.Join(out, "alliance-report.png")); err != nil || st.Size() == 0 {
		t.Fatalf("no screenshot in %s: %v", out, err)
	}
	t.Logf("chromium drew %d charts and %d table rows; screenshot and PDF in %s", len(res.Charts), res.Rows, out)
}
