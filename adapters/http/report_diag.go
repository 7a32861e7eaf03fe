package httpapi

import "github.com/medalliance/allianced/projections/report"

// diagCSVColumns and diagCharts carry the diagnostic centres' figures.
var diagCSVColumns []csvColumn

func diagCharts(report.Report) []chart { return nil }
