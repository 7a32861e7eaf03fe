package report

import "github.com/medalliance/allianced/domain"

// DiagnosticFigures are the diagnostic centres' figures.
type DiagnosticFigures struct{}

func diagNeeds(domain.Event) []string { return nil }

func deriveDiag(Entities, domain.Event) ([]Fact, error) { return nil, nil }

func buildDiag(Raw, *Figures) {}
