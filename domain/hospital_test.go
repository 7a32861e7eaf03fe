package domain_test

import (
	"testing"

	"github.com/medalliance/allianced/domain"
)

func TestDecideHospital(t *testing.T) {
	haem := domain.Department{ID: "haematology", Name: "血液科"}
	registered := domain.HospitalRegistered{HospitalID: id(1), Name: "上海交通大学医学院附属瑞金医院",
		RegionCode: "310101", Level: domain.LevelTertiary, Departments: []domain.Department{haem}}
	register := domain.RegisterHospital{HospitalID: id(1), Name: registered.Name, RegionCode: "310101",
		Level: domain.LevelTertiary, Departments: []domain.Department{haem}}
	with := func(f func(*domain.RegisterHospital)) domain.RegisterHospital { c := register; f(&c); return c }

	runSpecs(t, domain.DecideHospital, []spec[domain.HospitalCommand]{
		{name: "register", when: register, want: []domain.Event{registered}},
		{name: "register twice", given: []domain.Event{registered}, when: register, wantCode: domain.CodeAlreadyExists},
		{name: "bad id", when: with(func(c *domain.RegisterHospital) { c.HospitalID = "x" }), wantCode: domain.CodeInvalidInput},
		{name: "no name", when: with(func(c *domain.RegisterHospital) { c.Name = " " }), wantCode: domain.CodeInvalidInput},
		{name: "bad region", when: with(func(c *domain.RegisterHospital) { c.RegionCode = "31A101" }), wantCode: domain.CodeInvalidInput},
		{name: "bad level", when: with(func(c *domain.RegisterHospital) { c.Level = "grand" }), wantCode: domain.CodeInvalidInput},
		{name: "duplicate department", when: with(func(c *domain.RegisterHospital) {
			c.Departments = []domain.Department{haem, haem}
		}), wantCode: domain.CodeInvalidInput},
		{name: "add department", given: []domain.Event{registered},
			when: domain.AddDepartment{HospitalID: id(1), Department: domain.Department{ID: "cardiology", Name: "心内科"}},
			want: []domain.Event{domain.HospitalDepartmentAdded{HospitalID: id(1), Department: domain.Department{ID: "cardiology", Name: "心内科"}}}},
		{name: "add existing department", given: []domain.Event{registered},
			when: domain.AddDepartment{HospitalID: id(1), Department: haem}, wantCode: domain.CodeAlreadyExists},
		{name: "add department to unknown hospital",
			when: domain.AddDepartment{HospitalID: id(1), Department: haem}, wantCode: domain.CodeNotFound},
	})
}
