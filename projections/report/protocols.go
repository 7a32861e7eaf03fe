package report

import (
	"slices"
	"sort"
	"time"

	"github.com/medalliance/allianced/domain"
)

// protocolsState is an alliance's catalogue as the currency figures need it: per
// protocol, whether it is retired, its published (not withdrawn) versions and the
// version each member adopted.
type protocolsState struct {
	Protocols map[string]*protocolState `json:"p"`
}

type protocolState struct {
	Retired   bool           `json:"r,omitempty"`
	Published []int          `json:"v,omitempty"`
	Adopters  map[string]int `json:"a,omitempty"`
}

// current is the protocol's current version: its newest published version that was not
// withdrawn (0 when none is left).
func (p *protocolState) current() int {
	if len(p.Published) == 0 {
		return 0
	}
	return slices.Max(p.Published)
}

// memberCurrency is one member's adoptions of the alliance's live protocols and how many
// of them follow the current version.
type memberCurrency struct{ adoptions, current int64 }

func (s *protocolsState) currency(h string) memberCurrency {
	var c memberCurrency
	for _, p := range s.Protocols {
		v, ok := p.Adopters[h]
		if !ok || p.Retired {
			continue
		}
		c.adoptions++
		if cur := p.current(); cur > 0 && v == cur {
			c.current++
		}
	}
	return c
}

// deriveProtocols emits the changes of the currency gauges an event of a protocol or an
// adoption makes: every member whose figures it changes, before and after. Only the
// per-member sums are facts (adoptions, adoptions on the current version); whether a
// member is "on the current version" is read from them at the report's instant (see
// Assemble), so it does not depend on the order other protocols' events were recorded.
func deriveProtocols(ents Entities, e domain.Event) ([]Fact, error) {
	var alliance, protocolID, hospital string
	var at time.Time
	switch ev := e.(type) {
	case domain.ProtocolVersionPublished:
		alliance, protocolID, at = ev.AllianceID, ev.ProtocolID, ev.PublishedAt
	case domain.ProtocolVersionWithdrawn:
		alliance, protocolID, at = ev.AllianceID, ev.ProtocolID, ev.WithdrawnAt
	case domain.ProtocolRetired:
		alliance, protocolID, at = ev.AllianceID, ev.ProtocolID, ev.RetiredAt
	case domain.ProtocolAdopted:
		alliance, protocolID, hospital, at = ev.AllianceID, ev.ProtocolID, ev.HospitalID, ev.AdoptedAt
	case domain.AdoptionUpgraded:
		alliance, protocolID, hospital, at = ev.AllianceID, ev.ProtocolID, ev.HospitalID, ev.UpgradedAt
	case domain.AdoptionWithdrawn:
		alliance, protocolID, hospital, at = ev.AllianceID, ev.ProtocolID, ev.HospitalID, ev.WithdrawnAt
	}
	key := "protocols:" + alliance
	st, err := get[protocolsState](ents, key)
	if err != nil {
		return nil, err
	}
	if st == nil {
		st = &protocolsState{}
	}
	if st.Protocols == nil {
		st.Protocols = map[string]*protocolState{}
	}
	p := st.Protocols[protocolID]
	if p == nil {
		p = &protocolState{}
		st.Protocols[protocolID] = p
	}
	// The members whose currency the event may change.
	affected := map[string]bool{}
	if hospital != "" {
		affected[hospital] = true
	} else {
		for h := range p.Adopters {
			affected[h] = true
		}
	}
	before := map[string]memberCurrency{}
	for h := range affected {
		before[h] = st.currency(h)
	}
	switch ev := e.(type) {
	case domain.ProtocolVersionPublished:
		if !slices.Contains(p.Published, ev.Version) {
			p.Published = append(p.Published, ev.Version)
		}
	case domain.ProtocolVersionWithdrawn:
		p.Published = slices.DeleteFunc(p.Published, func(v int) bool { return v == ev.Version })
	case domain.ProtocolRetired:
		p.Retired = true
	case domain.ProtocolAdopted:
		if p.Adopters == nil {
			p.Adopters = map[string]int{}
		}
		p.Adopters[ev.HospitalID] = ev.Version
	case domain.AdoptionUpgraded:
		if p.Adopters == nil {
			p.Adopters = map[string]int{}
		}
		p.Adopters[ev.HospitalID] = ev.ToVersion
	case domain.AdoptionWithdrawn:
		delete(p.Adopters, ev.HospitalID)
	}
	hs := make([]string, 0, len(affected))
	for h := range affected {
		hs = append(hs, h)
	}
	sort.Strings(hs)
	var out []Fact
	for _, h := range hs {
		b, a := before[h], st.currency(h)
		add := func(metric string, d int64) {
			if d != 0 {
				out = append(out, counter(alliance, h, at, metric, d))
			}
		}
		add(GaugeAdoptions, a.adoptions-b.adoptions)
		add(GaugeAdoptionsCurrent, a.current-b.current)
	}
	return out, put(ents, key, st)
}
