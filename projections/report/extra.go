package report

import "github.com/medalliance/allianced/domain"

// extraNeeds, deriveExtra and visitExtraFacts are where the figures of the talent and
// diagnostic-centre aggregates join (mentorships, placements, visit admissions,
// diagnostic turnaround, critical values).
func extraNeeds(domain.Event) []string { return nil }

func deriveExtra(Entities, domain.Event) ([]Fact, error) { return nil, nil }

func visitExtraFacts(*dispatchState, domain.DispatchVisitReported) []Fact { return nil }

// DiagnosticFigures are the diagnostic centres' figures (filled once the centres'
// events are derived).
type DiagnosticFigures struct{}

// TalentFigures are the mentorship and placement figures (filled once the talent
// events are derived).
type TalentFigures struct{}

// PatientsAdmitted counts the patients a visit report says were admitted.
const PatientsAdmitted = "visits.patientsAdmitted"

func buildExtra(Raw, *Figures) {}
