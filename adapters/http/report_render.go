package httpapi

import (
	"bytes"
	"embed"
	"encoding/csv"
	"fmt"
	"html/template"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/medalliance/allianced/projections"
	"github.com/medalliance/allianced/projections/report"
)

// reportFiles holds the HTML report's template; the page is rendered on the server with
// its charts as inline SVG, so it needs no build step, no script and no network.
//
//go:embed report.html.tmpl
var reportFiles embed.FS

var reportTemplate = template.Must(template.New("report.html.tmpl").Funcs(template.FuncMap{
	"pct": fmtPct, "num": fmtNum, "mins": fmtMinutes,
}).ParseFS(reportFiles, "report.html.tmpl"))

// csvColumn is one column of the CSV form: its header and how a row's figures give it.
type csvColumn struct {
	name string
	val  func(f report.Figures) string
}

func i64(v int64) string { return strconv.FormatInt(v, 10) }

func optFloat(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', 4, 64)
}

var csvColumns = []csvColumn{
	{"referralsUp", func(f report.Figures) string { return i64(f.Referrals.Up) }},
	{"referralsDown", func(f report.Figures) string { return i64(f.Referrals.Down) }},
	{"referralsAdmitted", func(f report.Figures) string { return i64(f.Referrals.Admitted) }},
	{"greenChannelRequested", func(f report.Figures) string { return i64(f.Referrals.GreenChannel.Requested) }},
	{"greenChannelAdmitted", func(f report.Figures) string { return i64(f.Referrals.GreenChannel.Admitted) }},
	{"greenChannelWithinTarget", func(f report.Figures) string { return i64(f.Referrals.GreenChannel.WithinTarget) }},
	{"greenChannelShareWithinTarget", func(f report.Figures) string { return optFloat(f.Referrals.GreenChannel.ShareWithinTarget) }},
	{"greenChannelMedianMinutes", func(f report.Figures) string { return optFloat(f.Referrals.GreenChannel.MedianMinutes) }},
	{"greenChannelP90Minutes", func(f report.Figures) string { return optFloat(f.Referrals.GreenChannel.P90Minutes) }},
	{"consultsRequested", func(f report.Figures) string { return i64(f.Consults.Requested) }},
	{"consultsAnswered", func(f report.Figures) string { return i64(f.Consults.Answered) }},
	{"consultsAnsweredWithinDeadline", func(f report.Figures) string { return i64(f.Consults.AnsweredWithin) }},
	{"consultsShareWithinDeadline", func(f report.Figures) string { return optFloat(f.Consults.ShareWithinDeadline) }},
	{"consultsMedianResponseMinutes", func(f report.Figures) string { return optFloat(f.Consults.MedianResponseMinutes) }},
	{"consultsP90ResponseMinutes", func(f report.Figures) string { return optFloat(f.Consults.P90ResponseMinutes) }},
	{"visitsCompleted", func(f report.Figures) string { return i64(f.Visits.Completed) }},
	{"visitReports", func(f report.Figures) string { return i64(f.Visits.Reports) }},
	{"patientsSeen", func(f report.Figures) string { return i64(f.Visits.PatientsSeen) }},
	{"patientsAdmitted", func(f report.Figures) string { return i64(f.Visits.PatientsAdmitted) }},
	{"proceduresGuided", func(f report.Figures) string { return i64(f.Visits.ProceduresGuided) }},
	{"teachingSessions", func(f report.Figures) string { return i64(f.Visits.TeachingSessions) }},
	{"plansStarted", func(f report.Figures) string { return i64(f.Plans.Started) }},
	{"plansActive", func(f report.Figures) string { return i64(f.Plans.Active) }},
	{"plansCompleted", func(f report.Figures) string { return i64(f.Plans.Completed) }},
	{"plansDiscontinued", func(f report.Figures) string { return i64(f.Plans.Discontinued) }},
	{"stepsRecorded", func(f report.Figures) string { return i64(f.Adherence.StepsRecorded) }},
	{"stepsCompleted", func(f report.Figures) string { return i64(f.Adherence.StepsDone) }},
	{"stepsOnSchedule", func(f report.Figures) string { return i64(f.Adherence.OnSchedule) }},
	{"adherenceShare", func(f report.Figures) string { return optFloat(f.Adherence.Share) }},
	{"adherenceToleranceDays", func(f report.Figures) string { return strconv.Itoa(f.Adherence.ToleranceDays) }},
	{"deviations", func(f report.Figures) string { return i64(f.Deviations.Total) }},
	{"deviationsMinor", func(f report.Figures) string { return i64(f.Deviations.BySeverity["minor"]) }},
	{"deviationsMajor", func(f report.Figures) string { return i64(f.Deviations.BySeverity["major"]) }},
	{"deviationsPer100Steps", func(f report.Figures) string { return optFloat(f.Deviations.Per100Steps) }},
	{"adoptions", func(f report.Figures) string { return i64(f.Protocols.Adoptions) }},
	{"adoptionsOnCurrentVersion", func(f report.Figures) string { return i64(f.Protocols.AdoptionsOnCurrent) }},
	{"membersAdopting", func(f report.Figures) string { return i64(f.Protocols.MembersAdopting) }},
	{"membersOnCurrentVersion", func(f report.Figures) string { return i64(f.Protocols.MembersOnCurrent) }},
}

// reportCSV writes the report as CSV: a header, the alliance's totals, then one row per
// member, with a UTF-8 byte-order mark so spreadsheets read the Chinese names right.
func reportCSV(rep report.Report, allianceName string) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString("\ufeff")
	w := csv.NewWriter(&buf)
	head := []string{"allianceId", "alliance", "period", "periodStart", "periodEnd", "asOf", "through", "scope", "hospitalId", "hospital"}
	cols := append(append([]csvColumn{}, csvColumns...), extraCSVColumns...)
	for _, c := range cols {
		head = append(head, c.name)
	}
	if err := w.Write(head); err != nil {
		return nil, err
	}
	row := func(scope, id, name string, f report.Figures) error {
		name = csvText(name)
		rec := []string{rep.AllianceID, csvText(allianceName), rep.Period.Key, rep.Period.Start.Format(time.DateOnly), rep.Period.End.Format(time.DateOnly),
			rep.AsOf, rep.Through.Format(time.RFC3339), scope, id, name}
		for _, c := range cols {
			rec = append(rec, c.val(f))
		}
		return w.Write(rec)
	}
	if err := row("alliance", "", allianceName, rep.Total); err != nil {
		return nil, err
	}
	for _, m := range rep.Members {
		if err := row("hospital", m.HospitalID, m.Name, m.Figures); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// csvText keeps a name from being read as a formula by a spreadsheet (a leading =, +,
// -, @, tab or carriage return gets a quote, as OWASP advises for CSV exports).
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func fmtPct(v *float64) string {
	if v == nil {
		return "–"
	}
	return strconv.FormatFloat(100**v, 'f', 1, 64) + "%"
}

func fmtNum(v *float64) string {
	if v == nil {
		return "–"
	}
	return strconv.FormatFloat(*v, 'f', 1, 64)
}

func fmtMinutes(v *float64) string {
	if v == nil {
		return "–"
	}
	if *v >= 120 {
		return strconv.FormatFloat(*v/60, 'f', 1, 64) + " h"
	}
	return strconv.FormatFloat(*v, 'f', 0, 64) + " min"
}

// reportPage is what the HTML template shows.
type reportPage struct {
	Alliance  projections.AllianceView
	Report    report.Report
	Generated string
	Charts    []chart
	Rows      []report.Row
	MemberOwn bool
}

type chart struct {
	Title, Note string
	SVG         template.HTML
}

// renderReportHTML renders the printable page: headline figures, four charts (monthly
// trend, green channel against its target, adherence by hospital, deviations per 100
// steps by severity) and the per-hospital table.
func renderReportHTML(rep report.Report, al projections.AllianceView, trend []report.Report, now time.Time) ([]byte, error) {
	page := reportPage{Alliance: al, Report: rep, Generated: now.UTC().Format("2006-01-02 15:04 UTC"), Rows: rep.Members}
	page.Charts = []chart{
		{"月度趋势 Monthly trend", "referrals up and down, consults answered, expert visits completed, by month (alliance totals)", trendChart(trend)},
		{"绿色通道 Green channel", "request → admission, median and 90th percentile, against the 60-minute admission target", greenChart(rep)},
		{"方案执行 Adherence by hospital", fmt.Sprintf("share of plan steps done within ±%d day of the due day (lowest first, at most 25 hospitals)", report.ToleranceDays), adherenceChart(rep)},
		{"偏离 Deviations per 100 steps", "deviations reported per 100 plan steps recorded, by severity", deviationChart(rep)},
	}
	page.Charts = append(page.Charts, extraCharts(rep)...)
	var buf bytes.Buffer
	if err := reportTemplate.Execute(&buf, page); err != nil {
		return nil, fmt.Errorf("render the report page: %w", err)
	}
	return buf.Bytes(), nil
}

// --- charts: small server-side SVG ------------------------------------------------

var palette = []string{"#1f6feb", "#2da44e", "#d4a72c", "#cf222e", "#8250df", "#0a7f8c"}

// svgDoc wraps the chart's body in an <svg> element of the given size.
func svgDoc(w, h int, label string, body string) template.HTML {
	return template.HTML(fmt.Sprintf(`<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">%s</svg>`,
		w, h, w, h, template.HTMLEscapeString(label), body))
}

func esc(s string) string { return template.HTMLEscapeString(s) }

func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// legend draws a row of coloured keys.
func legend(b *strings.Builder, x, y int, names []string) {
	for i, n := range names {
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d" font-size="11">%s</text>`, x, y, palette[i%len(palette)], x+14, y+9, esc(n))
		x += 14 + 7*len(n) + 16
	}
}

func trendChart(trend []report.Report) template.HTML {
	series := []struct {
		name string
		val  func(report.Figures) int64
	}{
		{"up", func(f report.Figures) int64 { return f.Referrals.Up }},
		{"down", func(f report.Figures) int64 { return f.Referrals.Down }},
		{"consults", func(f report.Figures) int64 { return f.Consults.Answered }},
		{"visits", func(f report.Figures) int64 { return f.Visits.Completed }},
	}
	const w, h, left, top, bottom = 640, 240, 44, 24, 36
	var max float64
	for _, r := range trend {
		for _, s := range series {
			max = math.Max(max, float64(s.val(r.Total)))
		}
	}
	max = niceMax(max)
	var b strings.Builder
	plotH := float64(h - top - bottom)
	ticks := 4
	if math.Mod(max, 5) == 0 {
		ticks = 5
	}
	for i := 0; i <= ticks; i++ {
		y := float64(top) + plotH*float64(i)/float64(ticks)
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" font-size="10" text-anchor="end">%s</text>`,
			left, w-8, y, y, left-4, y+3, strconv.FormatFloat(max*float64(ticks-i)/float64(ticks), 'f', -1, 64))
	}
	n := max1(len(trend))
	groupW := float64(w-left-8) / float64(n)
	barW := groupW * 0.8 / float64(len(series))
	for i, r := range trend {
		x0 := float64(left) + groupW*float64(i) + groupW*0.1
		for j, s := range series {
			v := float64(s.val(r.Total))
			bh := plotH * v / max
			fmt.Fprintf(&b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %d</title></rect>`,
				x0+barW*float64(j), float64(top)+plotH-bh, barW, bh, palette[j], esc(r.Period.Key), s.name, s.val(r.Total))
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="10" text-anchor="middle">%s</text>`, x0+groupW*0.4, h-bottom+14, esc(r.Period.Key))
	}
	legend(&b, left, h-14, []string{"转上 up", "转下 down", "会诊 consults", "下沉 visits"})
	return svgDoc(w, h, "monthly trend of referrals, consults and visits", b.String())
}

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

func greenChart(rep report.Report) template.HTML {
	const w, h, left = 640, 150, 140
	g := rep.Total.Referrals.GreenChannel
	vals := []struct {
		name string
		v    *float64
	}{{"median 中位数", g.MedianMinutes}, {"p90 第90百分位", g.P90Minutes}}
	max := 60.0
	for _, v := range vals {
		if v.v != nil {
			max = math.Max(max, *v.v)
		}
	}
	max = niceMax(max)
	scale := float64(w-left-20) / max
	var b strings.Builder
	for i, v := range vals {
		y := 20 + i*40
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" text-anchor="end">%s</text>`, left-6, y+17, esc(v.name))
		if v.v == nil {
			fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" fill="#777">no admission in the period</text>`, left+4, y+17)
			continue
		}
		fmt.Fprintf(&b, `<rect class="bar" x="%d" y="%d" width="%.1f" height="24" fill="%s"><title>%s</title></rect><text x="%.1f" y="%d" font-size="11">%s</text>`,
			left, y, *v.v*scale, palette[i], esc(fmtMinutes(v.v)), float64(left)+*v.v*scale+4, y+16, esc(fmtMinutes(v.v)))
	}
	tx := float64(left) + 60*scale
	fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="10" y2="110" stroke="#cf222e" stroke-dasharray="4 3"/><text x="%.1f" y="124" font-size="11" fill="#cf222e" text-anchor="middle">target 60 min</text>`, tx, tx, tx)
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11">admitted %d, within target %s</text>`, left, h-8, g.Admitted, esc(fmtPct(g.ShareWithinTarget)))
	return svgDoc(w, h, "green channel request to admission time", b.String())
}

func adherenceChart(rep report.Report) template.HTML {
	type row struct {
		name  string
		share float64
		steps int64
	}
	var rows []row
	for _, m := range rep.Members {
		if m.Figures.Adherence.Share != nil {
			name := m.Name
			if name == "" {
				name = m.HospitalID
			}
			rows = append(rows, row{name, *m.Figures.Adherence.Share, m.Figures.Adherence.StepsRecorded})
		}
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].share < rows[j].share })
	if len(rows) > 25 {
		rows = rows[:25]
	}
	if t := rep.Total.Adherence.Share; t != nil {
		rows = append([]row{{"联盟合计 alliance", *t, rep.Total.Adherence.StepsRecorded}}, rows...)
	}
	const w, left, rowH = 640, 220, 20
	h := 20 + rowH*max1(len(rows))
	var b strings.Builder
	if len(rows) == 0 {
		b.WriteString(`<text x="10" y="24" font-size="12" fill="#777">no plan step recorded in the period</text>`)
		return svgDoc(w, 40, "adherence by hospital", b.String())
	}
	scale := float64(w - left - 60)
	for i, r := range rows {
		y := 10 + i*rowH
		name := []rune(r.name)
		if len(name) > 18 {
			name = append(name[:17], '…')
		}
		color := palette[1]
		if i == 0 && r.name == "联盟合计 alliance" {
			color = palette[0]
		} else if r.share < 0.8 {
			color = palette[3]
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="end">%s</text><rect class="bar" x="%d" y="%d" width="%.1f" height="14" fill="%s"><title>%s: %.1f%% of %d steps</title></rect><text x="%.1f" y="%d" font-size="10">%.1f%%</text>`,
			left-6, y+11, esc(string(name)), left, y, r.share*scale, color, esc(r.name), 100*r.share, r.steps, float64(left)+r.share*scale+4, y+11, 100*r.share)
	}
	return svgDoc(w, h, "adherence by hospital", b.String())
}

func deviationChart(rep report.Report) template.HTML {
	const w, h, left = 640, 40 + 28*3, 140
	d := rep.Total.Deviations
	var sev []string
	for s := range d.BySeverity {
		sev = append(sev, s)
	}
	sort.Strings(sev)
	var b strings.Builder
	if d.Per100Steps == nil {
		b.WriteString(`<text x="10" y="24" font-size="12" fill="#777">no plan step recorded in the period</text>`)
		return svgDoc(w, 40, "deviations per 100 steps", b.String())
	}
	max := niceMax(*d.Per100Steps)
	scale := float64(w-left-60) / max
	rows := append([]string{"all"}, sev...)
	for i, s := range rows {
		v := *d.Per100Steps
		n := d.Total
		if s != "all" {
			v, n = d.Per100StepsBySeverity[s], d.BySeverity[s]
		}
		y := 10 + i*28
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" text-anchor="end">%s</text><rect class="bar" x="%d" y="%d" width="%.1f" height="18" fill="%s"><title>%s: %d deviations</title></rect><text x="%.1f" y="%d" font-size="11">%.2f</text>`,
			left-6, y+14, esc(s), left, y, v*scale, palette[(i+2)%len(palette)], esc(s), n, float64(left)+v*scale+4, y+14, v)
	}
	return svgDoc(w, h, "deviations per 100 steps", b.String())
}
