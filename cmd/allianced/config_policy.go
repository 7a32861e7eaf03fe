package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/medalliance/allianced/domain"
)

// policyConfig is the clinical timing configuration: the consult deadlines and the
// referral targets per urgency (both validated by the domain at start, so a service
// never runs with a policy its commands would refuse), and how held reserved slots are
// reconciled.
type policyConfig struct {
	Consult  domain.DeadlinePolicy
	Referral domain.ReferralPolicy
	// SlotReconcileEvery is how often held reserved slots whose referral does not hold
	// them are looked for (and once at start); SlotHoldGrace is how old such a hold must
	// be before it is released, so an acceptance in flight is never undone.
	SlotReconcileEvery time.Duration
	SlotHoldGrace      time.Duration
}

func init() {
	settings = append(settings,
		setting{"consult-deadlines", "ALLIANCED_CONSULT_DEADLINES", "",
			"consult response deadlines per urgency, e.g. emergency=30m,urgent=4h,routine=48h; an urgency left out keeps its default"},
		setting{"referral-targets", "ALLIANCED_REFERRAL_TARGETS", "",
			"referral acceptance/admission targets per urgency, e.g. emergency=10m/1h,urgent=1h/24h,routine=24h/336h; an urgency left out keeps its default"},
		setting{"slot-reconcile-every", "ALLIANCED_SLOT_RECONCILE_EVERY", "1m",
			"how often reserved slots held for a referral that does not hold them are looked for and released"},
		setting{"slot-hold-grace", "ALLIANCED_SLOT_HOLD_GRACE", "2m",
			"how old a held slot must be before reconciliation may release it (longer than any acceptance takes)"},
	)
}

// parsePolicies reads the policy settings into c.Policies and validates them.
func parsePolicies(c *Config, vals map[string]*string) error {
	c.Policies = policyConfig{Consult: domain.DefaultDeadlinePolicy(), Referral: domain.DefaultReferralPolicy()}
	consult := map[string]*time.Duration{domain.UrgencyEmergency: &c.Policies.Consult.Emergency,
		domain.UrgencyUrgent: &c.Policies.Consult.Urgent, domain.UrgencyRoutine: &c.Policies.Consult.Routine}
	if err := parsePerUrgency("consult-deadlines", *vals["consult-deadlines"], func(urgency string, ds []time.Duration) error {
		if len(ds) != 1 {
			return fmt.Errorf("%s: want one duration, e.g. %s=4h", urgency, urgency)
		}
		*consult[urgency] = ds[0]
		return nil
	}); err != nil {
		return err
	}
	if err := c.Policies.Consult.Validate(); err != nil {
		return fmt.Errorf("--consult-deadlines %q: %s", *vals["consult-deadlines"], domain.ErrorMessage(err))
	}
	referral := map[string]*domain.ReferralTarget{domain.UrgencyEmergency: &c.Policies.Referral.Emergency,
		domain.UrgencyUrgent: &c.Policies.Referral.Urgent, domain.UrgencyRoutine: &c.Policies.Referral.Routine}
	if err := parsePerUrgency("referral-targets", *vals["referral-targets"], func(urgency string, ds []time.Duration) error {
		if len(ds) != 2 {
			return fmt.Errorf("%s: want acceptance/admission, e.g. %s=1h/24h", urgency, urgency)
		}
		*referral[urgency] = domain.ReferralTarget{Accept: ds[0], Admit: ds[1]}
		return nil
	}); err != nil {
		return err
	}
	if err := c.Policies.Referral.Validate(); err != nil {
		return fmt.Errorf("--referral-targets %q: %s", *vals["referral-targets"], domain.ErrorMessage(err))
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"slot-reconcile-every", &c.Policies.SlotReconcileEvery}, {"slot-hold-grace", &c.Policies.SlotHoldGrace}} {
		v, err := time.ParseDuration(*vals[d.name])
		if err != nil || v <= 0 {
			return fmt.Errorf("--%s %q: want a positive duration such as 1m", d.name, *vals[d.name])
		}
		*d.dst = v
	}
	return nil
}

// parsePerUrgency splits "urgency=d[/d],..." and hands each urgency's durations to set.
// Every urgency may appear once; unknown urgencies and unparsable durations are refused
// with the flag's name.
func parsePerUrgency(flagName, spec string, set func(urgency string, ds []time.Duration) error) error {
	if strings.TrimSpace(spec) == "" {
		return nil
	}
	seen := map[string]bool{}
	for _, part := range strings.Split(spec, ",") {
		urgency, durations, ok := strings.Cut(strings.TrimSpace(part), "=")
		urgency = strings.TrimSpace(urgency)
		if !ok || (urgency != domain.UrgencyEmergency && urgency != domain.UrgencyUrgent && urgency != domain.UrgencyRoutine) {
			return fmt.Errorf("--%s %q: %q is not urgency=duration with urgency emergency, urgent or routine", flagName, spec, part)
		}
		if seen[urgency] {
			return fmt.Errorf("--%s %q: %s is given twice", flagName, spec, urgency)
		}
		seen[urgency] = true
		var ds []time.Duration
		for _, f := range strings.Split(durations, "/") {
			d, err := time.ParseDuration(strings.TrimSpace(f))
			if err != nil {
				return fmt.Errorf("--%s %q: %s: %q is not a duration such as 30m or 24h", flagName, spec, urgency, f)
			}
			ds = append(ds, d)
		}
		if err := set(urgency, ds); err != nil {
			return fmt.Errorf("--%s %q: %w", flagName, spec, err)
		}
	}
	return nil
}
