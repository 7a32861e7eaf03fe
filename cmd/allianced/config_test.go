package main

import (
	"io"
	"testing"
	"time"
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
