package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/medalliance/allianced/domain"
)

// diagnosticPolicy builds the diagnostic policy of the configuration: the defaults, the
// report targets of --diagnostic-targets over them, and --critical-ack. targets is a
// comma-separated list of kind=emergency/urgent/routine, e.g.
// "ecg=10m/1h/12h,pathology=45m/48h/120h"; kinds not named keep their defaults.
func diagnosticPolicy(targets string, criticalAck time.Duration) (domain.DiagnosticPolicy, error) {
	p := domain.DefaultDiagnosticPolicy()
	p.CriticalAck = criticalAck
	for _, item := range strings.Split(targets, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		kind, spec, ok := strings.Cut(item, "=")
		parts := strings.Split(spec, "/")
		if !ok || len(parts) != 3 {
			return p, fmt.Errorf("--diagnostic-targets %q: want kind=emergency/urgent/routine, e.g. ecg=15m/1h/24h", item)
		}
		var d [3]time.Duration
		for i, s := range parts {
			var err error
			if d[i], err = time.ParseDuration(s); err != nil {
				return p, fmt.Errorf("--diagnostic-targets %q: %v", item, err)
			}
		}
		target := domain.DeadlinePolicy{Emergency: d[0], Urgent: d[1], Routine: d[2]}
		switch kind {
		case domain.CentreECG:
			p.ECG = target
		case domain.CentreImaging:
			p.Imaging = target
		case domain.CentreLab:
			p.Lab = target
		case domain.CentrePathology:
			p.Pathology = target
		case domain.CentreUltrasound:
			p.Ultrasound = target
		default:
			return p, fmt.Errorf("--diagnostic-targets %q: kind must be one of %v", item, domain.CentreKinds)
		}
	}
	if err := p.Validate(); err != nil {
		return p, fmt.Errorf("--diagnostic-targets / --critical-ack: %s", domain.ErrorMessage(err))
	}
	return p, nil
}
