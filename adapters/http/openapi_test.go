package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	httpapi "github.com/medalliance/allianced/adapters/http"
)

// TestOpenAPIMatchesRoutes walks echo's registered routes and the served document and
// checks that each route is documented and each documented operation is routed.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	f := newFixture(t)
	r := f.do(http.MethodGet, "/openapi.json", "", "")
	if r.status != 200 {
		t.Fatalf("GET /openapi.json: %d", r.status)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi = %q", doc.OpenAPI)
	}
	routed := map[string]bool{}
	for _, rt := range f.srv.Echo().Routes() {
		if strings.HasPrefix(rt.Method, "echo_route_") { // echo's internal not-found/any entries
			continue
		}
		key := strings.ToLower(rt.Method) + " " + httpapi.OpenAPIPath(rt.Path)
		routed[key] = true
		p, ok := doc.Paths[httpapi.OpenAPIPath(rt.Path)]
		if !ok {
			t.Errorf("route %s %s is not in the document", rt.Method, rt.Path)
			continue
		}
		if _, ok := p[strings.ToLower(rt.Method)]; !ok {
			t.Errorf("route %s %s: method not in the document", rt.Method, rt.Path)
		}
	}
	documented := 0
	for path, ops := range doc.Paths {
		for method := range ops {
			documented++
			if !routed[method+" "+path] {
				t.Errorf("documented %s %s is not routed", method, path)
			}
		}
	}
	if documented < 40 {
		t.Errorf("only %d operations documented", documented)
	}
	// Bodies and views are described field by field.
	doc2 := f.srv.OpenAPI()
	plan := doc2.Paths["/v1/plans/{id}"]["get"].Responses["200"].Content["application/json"].Schema
	if plan.Properties["planId"] == nil || plan.Properties["steps"] == nil {
		t.Errorf("GET /v1/plans/{id}: the view's fields are not documented: %+v", plan)
	}
	body := doc2.Paths["/v1/plans"]["post"].RequestBody.Content["application/json"].Schema
	if body.Properties["protocolId"] == nil || body.AdditionalProperties != false {
		t.Errorf("POST /v1/plans: body schema %+v, want its fields and no additional properties", body)
	}
}
