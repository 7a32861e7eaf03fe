package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/medalliance/allianced/domain"
)

// TestBodyTimeoutSetting: the body read deadline comes from --body-timeout, else
// ALLIANCED_BODY_TIMEOUT, else 30s; a value that is not a positive duration is refused.
func TestBodyTimeoutSetting(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     string
		want    time.Duration
		wantErr bool
	}{
		{"default", nil, "", 30 * time.Second, false},
		{"environment", nil, "5s", 5 * time.Second, false},
		{"flag over environment", []string{"--body-timeout", "2s"}, "5s", 2 * time.Second, false},
		{"not a duration", []string{"--body-timeout", "soon"}, "", 0, true},
		{"zero", nil, "0s", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			getenv := func(k string) string {
				if k == "ALLIANCED_BODY_TIMEOUT" {
					return tc.env
				}
				return ""
			}
			cfg, _, err := parseConfig("allianced serve", tc.args, getenv, io.Discard)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if !tc.wantErr && cfg.BodyTimeout != tc.want {
				t.Fatalf("got %s, want %s", cfg.BodyTimeout, tc.want)
			}
		})
	}
}

// TestPolicySettings: the consult deadlines and referral targets come from
// --consult-deadlines / --referral-targets (or their environment variables), an urgency
// left out keeps its default, and a policy the domain would refuse stops the start with
// a message naming the flag.
func TestPolicySettings(t *testing.T) {
	def := domain.DefaultReferralPolicy()
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		referral domain.ReferralPolicy
		consult  domain.DeadlinePolicy
		wantErr  string
	}{
		{name: "defaults", referral: def, consult: domain.DefaultDeadlinePolicy()},
		{name: "the green channel tightened", args: []string{"--referral-targets", "emergency=5m/45m"},
			referral: domain.ReferralPolicy{Emergency: domain.ReferralTarget{Accept: 5 * time.Minute, Admit: 45 * time.Minute}, Urgent: def.Urgent, Routine: def.Routine},
			consult:  domain.DefaultDeadlinePolicy()},
		{name: "every urgency from the environment", env: map[string]string{"ALLIANCED_REFERRAL_TARGETS": "emergency=10m/1h, urgent=2h/48h, routine=48h/720h",
			"ALLIANCED_CONSULT_DEADLINES": "emergency=20m,urgent=2h,routine=24h"},
			referral: domain.ReferralPolicy{Emergency: domain.ReferralTarget{Accept: 10 * time.Minute, Admit: time.Hour},
				Urgent: domain.ReferralTarget{Accept: 2 * time.Hour, Admit: 48 * time.Hour}, Routine: domain.ReferralTarget{Accept: 48 * time.Hour, Admit: 720 * time.Hour}},
			consult: domain.DeadlinePolicy{Emergency: 20 * time.Minute, Urgent: 2 * time.Hour, Routine: 24 * time.Hour}},
		{name: "flag over environment", args: []string{"--referral-targets", "urgent=30m/12h"}, env: map[string]string{"ALLIANCED_REFERRAL_TARGETS": "urgent=2h/48h"},
			referral: domain.ReferralPolicy{Emergency: def.Emergency, Urgent: domain.ReferralTarget{Accept: 30 * time.Minute, Admit: 12 * time.Hour}, Routine: def.Routine},
			consult:  domain.DefaultDeadlinePolicy()},
		{name: "acceptance after admission", args: []string{"--referral-targets", "emergency=2h/1h"}, wantErr: "no later than it admits"},
		{name: "emergency slower than urgent", args: []string{"--referral-targets", "emergency=2h/30h"}, wantErr: "emergency <= urgent <= routine"},
		{name: "beyond 30 days", args: []string{"--referral-targets", "routine=24h/1000h"}, wantErr: "at most 30 days"},
		{name: "one duration for a referral", args: []string{"--referral-targets", "urgent=1h"}, wantErr: "want acceptance/admission"},
		{name: "unknown urgency", args: []string{"--referral-targets", "critical=1m/5m"}, wantErr: "urgency emergency, urgent or routine"},
		{name: "not a duration", args: []string{"--referral-targets", "urgent=soon/24h"}, wantErr: "not a duration"},
		{name: "given twice", args: []string{"--referral-targets", "urgent=1h/24h,urgent=2h/24h"}, wantErr: "given twice"},
		{name: "consult deadline zero", args: []string{"--consult-deadlines", "urgent=0s"}, wantErr: "--consult-deadlines"},
		{name: "slot grace not positive", args: []string{"--slot-hold-grace", "0s"}, wantErr: "--slot-hold-grace"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _, err := parseConfig("allianced serve", tc.args, func(k string) string { return tc.env[k] }, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Policies.Referral != tc.referral || cfg.Policies.Consult != tc.consult {
				t.Fatalf("got %+v and %+v, want %+v and %+v", cfg.Policies.Referral, cfg.Policies.Consult, tc.referral, tc.consult)
			}
			if cfg.Policies.SlotReconcileEvery != time.Minute || cfg.Policies.SlotHoldGrace != 2*time.Minute {
				t.Fatalf("slot reconciliation %s / %s, want 1m / 2m", cfg.Policies.SlotReconcileEvery, cfg.Policies.SlotHoldGrace)
			}
		})
	}
}
