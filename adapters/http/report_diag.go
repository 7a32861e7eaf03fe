package httpapi

import (
	"fmt"
	"html/template"

	"github.com/medalliance/allianced/domain"
	"github.com/medalliance/allianced/projections/report"
)

// diagCSVColumns are the diagnostic centres' columns: per kind of study the submitted,
// reported, within-target share and turnaround percentiles, then the critical values.
var diagCSVColumns = func() []csvColumn {
	var cols []csvColumn
	for i, k := range domain.CentreKinds {
		kind := func(f report.Figures) report.DiagnosticKind {
			if f.Diagnostics == nil || i >= len(f.Diagnostics.Kinds) {
				return report.DiagnosticKind{}
			}
			return f.Diagnostics.Kinds[i]
		}
		cols = append(cols,
			csvColumn{"diag_" + k + "_submitted", func(f report.Figures) string { return i64(kind(f).Submitted) }},
			csvColumn{"diag_" + k + "_reported", func(f report.Figures) string { return i64(kind(f).Reported) }},
			csvColumn{"diag_" + k + "_shareWithinTarget", func(f report.Figures) string { return optFloat(kind(f).ShareWithinTarget) }},
			csvColumn{"diag_" + k + "_medianTurnaroundMinutes", func(f report.Figures) string { return optFloat(kind(f).MedianMinutes) }},
			csvColumn{"diag_" + k + "_p90TurnaroundMinutes", func(f report.Figures) string { return optFloat(kind(f).P90Minutes) }})
	}
	crit := func(f report.Figures) report.CriticalFigures {
		if f.Diagnostics == nil {
			return report.CriticalFigures{}
		}
		return f.Diagnostics.Critical
	}
	return append(cols,
		csvColumn{"criticalValuesFlagged", func(f report.Figures) string { return i64(crit(f).Flagged) }},
		csvColumn{"criticalValuesAcknowledged", func(f report.Figures) string { return i64(crit(f).Acknowledged) }},
		csvColumn{"criticalValuesAcknowledgedWithinTarget", func(f report.Figures) string { return i64(crit(f).WithinTarget) }},
		csvColumn{"criticalValuesShareWithinTarget", func(f report.Figures) string { return optFloat(crit(f).ShareWithinTarget) }},
		csvColumn{"criticalValuesEscalated", func(f report.Figures) string { return i64(crit(f).Escalated) }})
}()

// diagCharts draws the turnaround of each kind of study (median and 90th percentile).
func diagCharts(rep report.Report) []chart {
	d := rep.Total.Diagnostics
	if d == nil {
		return nil
	}
	type row = struct {
		name string
		v    float64
		text string
	}
	var rows []row
	for _, k := range d.Kinds {
		if k.MedianMinutes == nil {
			continue
		}
		rows = append(rows, row{k.Kind + " median", *k.MedianMinutes, fmtMinutes(k.MedianMinutes)},
			row{k.Kind + " p90", *k.P90Minutes, fmtMinutes(k.P90Minutes) + fmt.Sprintf(" (%s in target)", fmtPct(k.ShareWithinTarget))})
	}
	c := d.Critical
	note := fmt.Sprintf("submission → first report, by kind of study; critical values: %d flagged, %d acknowledged, %s within the acknowledgement time, %d escalated",
		c.Flagged, c.Acknowledged, fmtPct(c.ShareWithinTarget), c.Escalated)
	var svg template.HTML
	if len(rows) == 0 {
		svg = svgDoc(640, 40, "diagnostic turnaround", `<text x="10" y="24" font-size="12" fill="#777">no study reported in the period</text>`)
	} else {
		svg = hbars("diagnostic turnaround", rows)
	}
	return []chart{{"诊断中心 Diagnostic turnaround", note, svg}}
}
