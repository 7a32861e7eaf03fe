package main

import (
	"context"
	"testing"
	"time"

	"github.com/medalliance/allianced/domain"
)

// TestDemoLihuiliLeads: in the demo, 李惠利医院's two lead departments each dispatch their
// own expert to 北仑三院 and each answered the consult addressed to it.
func TestDemoLihuiliLeads(t *testing.T) {
	now := time.Date(2026, 5, 17, 8, 0, 0, 0, time.UTC)
	a, store := openDemoApp(t, t.TempDir(), now)
	sum, err := loadDemo(context.Background(), a, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dispatch, consult, dept, expert string
	}{
		{"dispatch:lihuili-shen", "consult:lihuili-gastro", "gastroenterology", "沈建伟"},
		{"dispatch:lihuili-qiu", "consult:lihuili-surgery", "gi-surgery", "裘丰"},
	} {
		d := load[domain.Dispatch](t, store, domain.DispatchStream(sum.id(tc.dispatch)))
		if d.LeadDepartmentID != tc.dept || d.ExpertName != tc.expert || d.RequestingHospitalID != sum.id("beilun3") || d.Status != domain.DispatchStatusAssigned {
			t.Errorf("%s: led by %q, expert %q, status %s; want %s with %s", tc.dispatch, d.LeadDepartmentID, d.ExpertName, d.Status, tc.dept, tc.expert)
		}
		k := load[domain.Consult](t, store, domain.ConsultStream(sum.id(tc.consult)))
		if k.LeadDepartmentID != tc.dept || k.Status != domain.ConsultStatusAnswered {
			t.Errorf("%s: addressed to %q, %s; want %s, answered", tc.consult, k.LeadDepartmentID, k.Status, tc.dept)
		}
	}
}
