package domain

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// DiagnosticPolicy gives the report turnaround targets per centre kind and urgency, and
// how long a requesting hospital has to acknowledge a critical value. Like the consult
// and referral policies it is configuration passed on each command; the deadlines it
// yields are recorded on the events, so a later change never moves a deadline already set.
type DiagnosticPolicy struct {
	ECG        DeadlinePolicy
	Imaging    DeadlinePolicy
	Lab        DeadlinePolicy
	Pathology  DeadlinePolicy
	Ultrasound DeadlinePolicy
	// CriticalAck is how long the requesting hospital has to acknowledge a critical
	// value before it escalates (危急值: 10 minutes in most hospitals' rules).
	CriticalAck time.Duration
}

// DefaultDiagnosticPolicy is the policy used unless configured otherwise. An emergency
// ECG (chest pain at a township centre) is read within 15 minutes; imaging and
// ultrasound emergencies within 30 minutes to an hour; a pathology "emergency" is an
// intra-operative frozen section (an hour), routine histology five days. Critical
// values are acknowledged within 10 minutes.
func DefaultDiagnosticPolicy() DiagnosticPolicy {
	return DiagnosticPolicy{
		ECG:         DeadlinePolicy{Emergency: 15 * time.Minute, Urgent: time.Hour, Routine: 24 * time.Hour},
		Imaging:     DeadlinePolicy{Emergency: time.Hour, Urgent: 4 * time.Hour, Routine: 48 * time.Hour},
		Lab:         DeadlinePolicy{Emergency: time.Hour, Urgent: 4 * time.Hour, Routine: 24 * time.Hour},
		Pathology:   DeadlinePolicy{Emergency: time.Hour, Urgent: 48 * time.Hour, Routine: 5 * 24 * time.Hour},
		Ultrasound:  DeadlinePolicy{Emergency: 30 * time.Minute, Urgent: 4 * time.Hour, Routine: 48 * time.Hour},
		CriticalAck: 10 * time.Minute,
	}
}

// For returns the report target of a kind and urgency.
func (p DiagnosticPolicy) For(kind, urgency string) (time.Duration, error) {
	d, err := p.kind(kind)
	if err != nil {
		return 0, err
	}
	return d.For(urgency)
}

func (p DiagnosticPolicy) kind(kind string) (DeadlinePolicy, error) {
	switch kind {
	case CentreECG:
		return p.ECG, nil
	case CentreImaging:
		return p.Imaging, nil
	case CentreLab:
		return p.Lab, nil
	case CentrePathology:
		return p.Pathology, nil
	case CentreUltrasound:
		return p.Ultrasound, nil
	}
	return DeadlinePolicy{}, validateCentreKind(kind)
}

// Validate checks every target is more than 0 and at most 30 days, that more urgent
// studies never get more time, and that the acknowledgement time is 1 second to 24 hours.
func (p DiagnosticPolicy) Validate() error {
	for _, k := range CentreKinds {
		d, _ := p.kind(k)
		for _, t := range []time.Duration{d.Emergency, d.Urgent, d.Routine} {
			if t <= 0 || t > maxDeadlineAllowance {
				return Errorf(CodeInvalidInput, "the diagnostic policy gives %s studies %s; every target must be more than 0 and at most 30 days (check the server's configuration)", k, t)
			}
		}
		if d.Emergency > d.Urgent || d.Urgent > d.Routine {
			return Errorf(CodeInvalidInput, "the diagnostic policy must give %s studies emergency <= urgent <= routine", k)
		}
	}
	if p.CriticalAck < time.Second || p.CriticalAck > 24*time.Hour {
		return Errorf(CodeInvalidInput, "the critical-value acknowledgement time %s must be between 1s and 24h", p.CriticalAck)
	}
	return nil
}

// ReportTemplates lists, per centre kind, the finding items a report must carry (a
// structured report per the function guide's 报告模板). Reports may add other items.
var ReportTemplates = map[string][]string{
	CentreECG:        {"rhythm", "rate", "st_t"},
	CentreImaging:    {"technique", "findings"},
	CentreLab:        {},
	CentrePathology:  {"specimen", "gross", "microscopic", "diagnosis"},
	CentreUltrasound: {"findings"},
}

// Finding flags: how a finding compares with its reference. "critical" marks a finding
// that is a critical value: a report holding one must flag the critical value.
const (
	FlagNormal   = "normal"
	FlagLow      = "low"
	FlagHigh     = "high"
	FlagAbnormal = "abnormal"
	FlagCritical = "critical"
)

var findingFlags = []string{FlagNormal, FlagLow, FlagHigh, FlagAbnormal, FlagCritical}

// Finding is one item of a structured report: an ECG's rhythm, a lab analyte, a
// pathology specimen's microscopic description.
type Finding struct {
	Item           string `json:"item"`
	Value          string `json:"value"`
	Unit           string `json:"unit,omitempty"`
	ReferenceRange string `json:"referenceRange,omitempty"`
	Flag           string `json:"flag,omitempty"`
}

// Limits of a report and a study.
const (
	maxFindings        = 200
	maxFindingValue    = 4000
	maxFindingShort    = 100
	maxImpression      = 4000
	maxClinicalQuest   = 2000
	maxModality        = 100
	maxLink            = 2000
	maxStudyUID        = 64
	maxAmendments      = 50
	maxCriticalFinding = 1000
	maxDiagnosticNote  = 1000
)

var findingItemPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// validateFindings checks a report's findings against its kind's template: every
// required item present, items unique and named in snake case, flags from the closed set.
func validateFindings(kind string, fs []Finding) error {
	if len(fs) == 0 {
		return Errorf(CodeInvalidInput, "a report carries at least one finding")
	}
	if len(fs) > maxFindings {
		return Errorf(CodeInvalidInput, "a report may carry at most %d findings; got %d", maxFindings, len(fs))
	}
	seen := map[string]bool{}
	for i, f := range fs {
		what := fmt.Sprintf("finding %d", i+1)
		if !findingItemPattern.MatchString(f.Item) {
			return Errorf(CodeInvalidInput, "%s: item %q must be snake case, 1 to 40 characters (e.g. st_t, troponin_i)", what, truncate(f.Item, 40))
		}
		if seen[f.Item] {
			return Errorf(CodeInvalidInput, "%s: item %q appears twice", what, f.Item)
		}
		seen[f.Item] = true
		if err := firstErr(required(what+" value", f.Value, maxFindingValue), optional(what+" unit", f.Unit, maxFindingShort),
			optional(what+" referenceRange", f.ReferenceRange, maxFindingShort)); err != nil {
			return err
		}
		if f.Flag != "" && !slices.Contains(findingFlags, f.Flag) {
			return Errorf(CodeInvalidInput, "%s: flag %q must be one of %v", what, truncate(f.Flag, 20), findingFlags)
		}
	}
	for _, item := range ReportTemplates[kind] {
		if !seen[item] {
			return Errorf(CodeInvalidInput, "a %s report must carry the template's items %v; %q is missing", kind, ReportTemplates[kind], item).
				WithDetail("template", ReportTemplates[kind])
		}
	}
	return nil
}

// StudyAttachment is a file of a study, held where it lives (the member's PACS, the
// regional platform): the event records its digest and where to fetch it, by an https
// link or a DICOM Study Instance UID, never the pixel data or anything naming the patient.
type StudyAttachment struct {
	Attachment
	Link             string `json:"link,omitempty"`
	StudyInstanceUID string `json:"studyInstanceUid,omitempty"`
}

// dicomUIDPattern is a DICOM UID (PS3.5 9.1): dot-separated numeric components without
// leading zeros, at most 64 characters.
var dicomUIDPattern = regexp.MustCompile(`^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+$`)

// ValidateStudyUID checks a DICOM Study Instance UID.
func ValidateStudyUID(uid string) error {
	if len(uid) > maxStudyUID || !dicomUIDPattern.MatchString(uid) {
		return Errorf(CodeInvalidInput, "studyInstanceUid %q is not a DICOM UID (digits and dots, no leading zeros, at most 64 characters)", truncate(uid, 70))
	}
	return nil
}

// validateStudyAttachments checks the files of a study: each a valid attachment (digest,
// media type, size), with an https link (no credentials, no query: a query string is
// where signed tokens and patient ids leak) or a Study Instance UID; DICOM files of
// imaging and ultrasound need the UID, which is how a PACS finds them.
func validateStudyAttachments(kind string, as []StudyAttachment) error {
	plain := make([]Attachment, len(as))
	for i, a := range as {
		plain[i] = a.Attachment
	}
	if err := validateAttachments(plain); err != nil {
		return err
	}
	for i, a := range as {
		what := fmt.Sprintf("attachment %d (%q)", i+1, truncate(a.Name, 40))
		if a.Link == "" && a.StudyInstanceUID == "" {
			return Errorf(CodeInvalidInput, "%s needs a link or a studyInstanceUid saying where the file lives; the service never holds pixel data", what)
		}
		if a.Link != "" {
			if err := validateLink(a.Link); err != nil {
				return Errorf(CodeInvalidInput, "%s: %s", what, ErrorMessage(err))
			}
		}
		if a.StudyInstanceUID != "" {
			if err := ValidateStudyUID(a.StudyInstanceUID); err != nil {
				return Errorf(CodeInvalidInput, "%s: %s", what, ErrorMessage(err))
			}
		}
		if (kind == CentreImaging || kind == CentreUltrasound) && a.MediaType == "application/dicom" && a.StudyInstanceUID == "" {
			return Errorf(CodeInvalidInput, "%s is DICOM: give its studyInstanceUid", what)
		}
	}
	return nil
}

func validateLink(link string) error {
	if err := optional("link", link, maxLink); err != nil {
		return err
	}
	u, err := url.Parse(link)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" ||
		strings.ContainsAny(link, " \t\r\n") {
		return Errorf(CodeInvalidInput, "link must be an https URL with a host and no credentials, query or fragment")
	}
	return nil
}

// QC send-back reasons (质控退回).
const (
	QCUnreadable   = "unreadable"  // e.g. a tracing with baseline wander, motion artefacts
	QCIncomplete   = "incomplete"  // missing leads, series or clinical information
	QCWrongStudy   = "wrong_study" // the study does not answer the question asked
	QCSpecimen     = "specimen"    // a lab or pathology specimen unfit (haemolysed, unlabelled)
	QCOtherProblem = "other"
)

// QCReasons lists the send-back reason codes.
var QCReasons = []string{QCUnreadable, QCIncomplete, QCWrongStudy, QCSpecimen, QCOtherProblem}
