package main

import (
	"testing"
	"time"
)

func TestDiagnosticPolicyFlags(t *testing.T) {
	for _, tc := range []struct {
		targets string
		ok      bool
		ecg     time.Duration // the ECG emergency target when ok
	}{
		{"", true, 15 * time.Minute},
		{"ecg=10m/1h/12h", true, 10 * time.Minute},
		{"ecg=10m/1h/12h, pathology=45m/48h/120h", true, 10 * time.Minute},
		{"ecg=2h/1h/12h", false, 0}, // emergency slower than urgent
		{"xray=1m/2m/3m", false, 0}, // unknown kind
		{"ecg=10m/1h", false, 0},    // two targets
		{"ecg=10m/1h/forever", false, 0},
	} {
		p, err := diagnosticPolicy(tc.targets, 10*time.Minute)
		if (err == nil) != tc.ok || (tc.ok && p.ECG.Emergency != tc.ecg) {
			t.Errorf("%q: got %+v, %v; want ok=%v, ECG emergency %s", tc.targets, p.ECG, err, tc.ok, tc.ecg)
		}
	}
	if _, err := diagnosticPolicy("", 0); err == nil {
		t.Error("an acknowledgement time of 0 was accepted")
	}
}
