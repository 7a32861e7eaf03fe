package httpapi

import (
	"fmt"
	"html/template"
	"math"
	"strings"

	"github.com/medalliance/allianced/projections/report"
)

// extraCSVColumns and extraCharts carry the talent and diagnostic-centre figures.
var extraCSVColumns = append([]csvColumn{
	{"mentorshipsStarted", func(f report.Figures) string { return i64(talent(f).MentorshipsStarted) }},
	{"mentorshipsActive", func(f report.Figures) string { return i64(talent(f).MentorshipsActive) }},
	{"mentorshipsCompleted", func(f report.Figures) string { return i64(talent(f).MentorshipsCompleted) }},
	{"mentorshipsWithdrawn", func(f report.Figures) string { return i64(talent(f).MentorshipsWithdrawn) }},
	{"mentoringSessions", func(f report.Figures) string { return i64(talent(f).MentoringSessions) }},
	{"studyPlacementsBegun", func(f report.Figures) string { return i64(talent(f).StudyPlacements) }},
	{"postingsBegun", func(f report.Figures) string { return i64(talent(f).Postings) }},
	{"placementsCompleted", func(f report.Figures) string { return i64(talent(f).PlacementsCompleted) }},
	{"placementsUnderWay", func(f report.Figures) string { return i64(talent(f).PlacementsActive) }},
}, diagCSVColumns...)

func talent(f report.Figures) report.TalentFigures {
	if f.Talent == nil {
		return report.TalentFigures{}
	}
	return *f.Talent
}

func extraCharts(rep report.Report) []chart {
	return append([]chart{{"人才培养 Talent", "mentorships (师带徒) and placements (进修, 派一送一): begun in the period, and under way at its end", talentChart(rep)}}, diagCharts(rep)...)
}

// hbars draws labelled horizontal bars.
func hbars(label string, rows []struct {
	name string
	v    float64
	text string
}) template.HTML {
	const w, left, rowH = 640, 220, 24
	max := 0.0
	for _, r := range rows {
		max = math.Max(max, r.v)
	}
	max = niceMax(max)
	scale := float64(w-left-70) / max
	var b strings.Builder
	for i, r := range rows {
		y := 8 + i*rowH
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="end">%s</text><rect class="bar" x="%d" y="%d" width="%.1f" height="16" fill="%s"><title>%s: %s</title></rect><text x="%.1f" y="%d" font-size="11">%s</text>`,
			left-6, y+12, esc(r.name), left, y, r.v*scale, palette[i%len(palette)], esc(r.name), esc(r.text), float64(left)+r.v*scale+4, y+12, esc(r.text))
	}
	return svgDoc(w, 16+rowH*max1(len(rows)), label, b.String())
}

func talentChart(rep report.Report) template.HTML {
	t := talent(rep.Total)
	type row = struct {
		name string
		v    float64
		text string
	}
	n := func(name string, v int64) row { return row{name, float64(v), fmt.Sprint(v)} }
	return hbars("talent flows", []row{
		n("师带徒 mentorships begun", t.MentorshipsStarted), n("师带徒 under way", t.MentorshipsActive),
		n("师带徒 completed", t.MentorshipsCompleted), n("带教 sessions logged", t.MentoringSessions),
		n("进修 study placements begun", t.StudyPlacements), n("派驻 postings begun", t.Postings),
		n("placements under way", t.PlacementsActive), n("placements completed", t.PlacementsCompleted),
	})
}
