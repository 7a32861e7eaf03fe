package report

import (
	"fmt"
	"strconv"
	"time"

	"github.com/medalliance/allianced/domain"
)

// Period is a calendar month, quarter or year (UTC), [Start, End).
type Period struct {
	Kind  string    `json:"kind"` // month, quarter or year
	Key   string    `json:"key"`  // 2026-11, 2026-Q4 or 2026
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Period kinds.
const (
	Month   = "month"
	Quarter = "quarter"
	Year    = "year"
)

func badPeriod(s string) error {
	return domain.Errorf(domain.CodeInvalidInput, "period %q: use a month (2026-11), a quarter (2026-Q4) or a year (2026), years 1900 to 2199", clip(s)).WithDetail("field", "period")
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// ParsePeriod reads "2026-11" (month), "2026-Q4" (quarter) or "2026" (year).
func ParsePeriod(s string) (Period, error) {
	if len(s) < 4 {
		return Period{}, badPeriod(s)
	}
	y, err := strconv.Atoi(s[:4])
	if err != nil || y < 1900 || y > 2199 || s[0] == '+' || s[0] == '-' {
		return Period{}, badPeriod(s)
	}
	switch {
	case len(s) == 4:
		start := time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
		return Period{Kind: Year, Key: s, Start: start, End: start.AddDate(1, 0, 0)}, nil
	case len(s) == 7 && s[4] == '-' && s[5] == 'Q' && s[6] >= '1' && s[6] <= '4':
		q := int(s[6] - '0')
		start := time.Date(y, time.Month(3*q-2), 1, 0, 0, 0, 0, time.UTC)
		return Period{Kind: Quarter, Key: s, Start: start, End: start.AddDate(0, 3, 0)}, nil
	case len(s) == 7 && s[4] == '-':
		m, err := strconv.Atoi(s[5:])
		if err != nil || m < 1 || m > 12 || s[5] == '+' {
			return Period{}, badPeriod(s)
		}
		start := time.Date(y, time.Month(m), 1, 0, 0, 0, 0, time.UTC)
		return Period{Kind: Month, Key: s, Start: start, End: start.AddDate(0, 1, 0)}, nil
	}
	return Period{}, badPeriod(s)
}

// PeriodOf returns the period of the given kind that holds t.
func PeriodOf(kind string, t time.Time) Period {
	t = t.UTC()
	switch kind {
	case Year:
		p, _ := ParsePeriod(fmt.Sprintf("%04d", t.Year()))
		return p
	case Quarter:
		p, _ := ParsePeriod(fmt.Sprintf("%04d-Q%d", t.Year(), (int(t.Month())+2)/3))
		return p
	}
	p, _ := ParsePeriod(fmt.Sprintf("%04d-%02d", t.Year(), int(t.Month())))
	return p
}

// ParseAsOf reads an as-of date (2026-11-15): the report as of that date counts the
// facts dated before the end of the day (UTC); it returns that end, the cut.
func ParseAsOf(s string) (time.Time, error) {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil || d.Year() < 1900 || d.Year() > 2199 {
		return time.Time{}, domain.Errorf(domain.CodeInvalidInput, "asOf %q: use a date, 2026-11-15 (the figures as they stood at the end of that day, UTC)", clip(s)).WithDetail("field", "asOf")
	}
	return d.AddDate(0, 0, 1), nil
}

// Bucket keys: the incremental views keep the sums of every day, month, quarter and year,
// so any period, cut at any day, is the sum of a few buckets (see Cover).

// BucketsOf returns the keys of the four buckets a fact dated t counts in.
func BucketsOf(t time.Time) [4]string {
	t = t.UTC()
	y, m, d := t.Date()
	return [4]string{
		fmt.Sprintf("d%04d-%02d-%02d", y, int(m), d),
		fmt.Sprintf("m%04d-%02d", y, int(m)),
		fmt.Sprintf("q%04d-%d", y, (int(m)+2)/3),
		fmt.Sprintf("y%04d", y),
	}
}

// Cover returns the buckets whose union is exactly [start, end): whole years, quarters
// and months where they fit, days elsewhere. Both ends must be midnights UTC.
func Cover(start, end time.Time) []string {
	var out []string
	for t := start.UTC(); t.Before(end); {
		y, m, d := t.Date()
		switch {
		case m == 1 && d == 1 && !t.AddDate(1, 0, 0).After(end):
			out = append(out, fmt.Sprintf("y%04d", y))
			t = t.AddDate(1, 0, 0)
		case d == 1 && (int(m)-1)%3 == 0 && !t.AddDate(0, 3, 0).After(end):
			out = append(out, fmt.Sprintf("q%04d-%d", y, (int(m)+2)/3))
			t = t.AddDate(0, 3, 0)
		case d == 1 && !t.AddDate(0, 1, 0).After(end):
			out = append(out, fmt.Sprintf("m%04d-%02d", y, int(m)))
			t = t.AddDate(0, 1, 0)
		default:
			out = append(out, fmt.Sprintf("d%04d-%02d-%02d", y, int(m), d))
			t = t.AddDate(0, 0, 1)
		}
	}
	return out
}
