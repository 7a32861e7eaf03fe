package httpapi

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// The OpenAPI document is a typed Go structure built from the route table, so it
// cannot drift from the registered routes (a test checks both directions against
// echo's e.Routes()). Request-body schemas are derived from the app input types' JSON
// tags by reflection. No extra module is needed for this much of OpenAPI 3.0.

// OpenAPIDoc is the root of an OpenAPI 3.0 document.
type OpenAPIDoc struct {
	OpenAPI    string                      `json:"openapi"`
	Info       OpenAPIInfo                 `json:"info"`
	Paths      map[string]map[string]*OAOp `json:"paths"`
	Components OpenAPIComponents           `json:"components"`
	Security   []map[string][]string       `json:"security,omitempty"`
	Tags       []map[string]string         `json:"tags,omitempty"`
}

// OpenAPIInfo is the document's info object.
type OpenAPIInfo struct {
	Title       string `json:"title"`
	Version     string `json:"version"`
	Description string `json:"description,omitempty"`
}

// OpenAPIComponents holds the shared schemas and the security scheme.
type OpenAPIComponents struct {
	Schemas         map[string]*Schema           `json:"schemas"`
	SecuritySchemes map[string]map[string]string `json:"securitySchemes"`
}

// OAOp is one operation (a method on a path).
type OAOp struct {
	OperationID string                `json:"operationId"`
	Summary     string                `json:"summary"`
	Parameters  []OAParam             `json:"parameters,omitempty"`
	RequestBody *OABody               `json:"requestBody,omitempty"`
	Responses   map[string]OAResponse `json:"responses"`
	Security    []map[string][]string `json:"security"`
}

// OAParam is a path, query or header parameter.
type OAParam struct {
	Name        string  `json:"name"`
	In          string  `json:"in"`
	Required    bool    `json:"required,omitempty"`
	Description string  `json:"description,omitempty"`
	Schema      *Schema `json:"schema"`
}

// OABody is a request body.
type OABody struct {
	Required bool                   `json:"required"`
	Content  map[string]OAMediaType `json:"content"`
}

// OAMediaType is the schema of one content type.
type OAMediaType struct {
	Schema *Schema `json:"schema"`
}

// OAResponse is one response of an operation.
type OAResponse struct {
	Description string                 `json:"description"`
	Headers     map[string]OAHeader    `json:"headers,omitempty"`
	Content     map[string]OAMediaType `json:"content,omitempty"`
}

// OAHeader documents a response header.
type OAHeader struct {
	Description string  `json:"description"`
	Schema      *Schema `json:"schema"`
}

// Schema is the subset of JSON Schema that OpenAPI 3.0 uses here.
type Schema struct {
	Ref                  string             `json:"$ref,omitempty"`
	Type                 string             `json:"type,omitempty"`
	Format               string             `json:"format,omitempty"`
	Description          string             `json:"description,omitempty"`
	Properties           map[string]*Schema `json:"properties,omitempty"`
	Items                *Schema            `json:"items,omitempty"`
	AdditionalProperties any                `json:"additionalProperties,omitempty"`
	Required             []string           `json:"required,omitempty"`
	Nullable             bool               `json:"nullable,omitempty"`
}

func (s *Server) openapi(c echo.Context, _ *Claims) error {
	return c.JSON(http.StatusOK, s.OpenAPI())
}

// OpenAPI returns the document of the server's routes.
func (s *Server) OpenAPI() *OpenAPIDoc { return buildOpenAPI(s.routes) }

// OpenAPIPath turns an echo path (/v1/plans/:id) into an OpenAPI one (/v1/plans/{id}).
func OpenAPIPath(p string) string {
	parts := strings.Split(p, "/")
	for i, part := range parts {
		if strings.HasPrefix(part, ":") {
			parts[i] = "{" + part[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

func ref(name string) *Schema { return &Schema{Ref: "#/components/schemas/" + name} }

func buildOpenAPI(rs []route) *OpenAPIDoc {
	doc := &OpenAPIDoc{
		OpenAPI: "3.0.3",
		Info: OpenAPIInfo{Title: "allianced", Version: "1",
			Description: "Specialist-alliance coordination: hospitals, alliances, protocols, adoptions, shared treatment plans, expert dispatches and remote consults. Commands accept Idempotency-Key and If-Match and answer with ETag and the global position; queries accept minPosition (read your writes)."},
		Paths: map[string]map[string]*OAOp{},
		Components: OpenAPIComponents{
			Schemas: map[string]*Schema{
				"Error":           schemaOf(reflect.TypeOf(ErrorBody{})),
				"CommandResponse": schemaOf(reflect.TypeOf(CommandResponse{})),
			},
			SecuritySchemes: map[string]map[string]string{"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
		},
		Security: []map[string][]string{{"bearer": {}}},
	}
	errResp := func(d string) OAResponse {
		return OAResponse{Description: d, Content: map[string]OAMediaType{"application/json": {Schema: ref("Error")}}}
	}
	for _, r := range rs {
		op := &OAOp{OperationID: r.op, Summary: r.summary, Responses: map[string]OAResponse{}, Security: []map[string][]string{{"bearer": {}}}}
		if r.public {
			op.Security = []map[string][]string{}
		}
		for _, part := range strings.Split(r.path, "/") {
			if strings.HasPrefix(part, ":") {
				op.Parameters = append(op.Parameters, OAParam{Name: part[1:], In: "path", Required: true, Schema: &Schema{Type: "string"}})
			}
		}
		for _, q := range r.query {
			op.Parameters = append(op.Parameters, OAParam{Name: q.name, In: "query", Description: q.desc, Schema: &Schema{Type: q.typ}})
		}
		switch r.kind {
		case respCommand:
			op.Parameters = append(op.Parameters,
				OAParam{Name: "Idempotency-Key", In: "header", Description: "binds the key to this request (operation, path ids and canonical JSON body); the same request again returns the first response (same status, id, version, position; header Idempotent-Replayed: true) and appends nothing, after checking the caller may send it (403 otherwise); another request with the key gets 422 idempotency_key_reused. Keys are scoped to the caller's hospital and kept as long as the event log (max 200 characters)", Schema: &Schema{Type: "string"}},
				OAParam{Name: "If-Match", In: "header", Description: "the stream version (ETag) the client last saw; a mismatch is 409 conflict", Schema: &Schema{Type: "string"}})
			if r.body != nil {
				op.RequestBody = &OABody{Required: false, Content: map[string]OAMediaType{"application/json": {Schema: closed(schemaOf(reflect.TypeOf(r.body)))}}}
			}
			ok := OAResponse{Description: "the command's outcome", Headers: map[string]OAHeader{"ETag": {Description: "the stream version after the command", Schema: &Schema{Type: "string"}}},
				Content: map[string]OAMediaType{"application/json": {Schema: ref("CommandResponse")}}}
			op.Responses["200"] = ok
			op.Responses["201"] = ok
			op.Responses["409"] = errResp("conflict, already_exists, forbidden_transition or schedule_overlap")
			op.Responses["413"] = errResp("the body exceeds the limit")
			op.Responses["422"] = errResp("not_member: the hospital is not an active member")
		case respJSON:
			body := &Schema{Type: "object"}
			if r.resp != nil {
				body = schemaOf(reflect.TypeOf(r.resp))
			}
			op.Responses["200"] = OAResponse{Description: "the document", Content: map[string]OAMediaType{"application/json": {Schema: body}}}
		case respStream:
			op.Parameters = append(op.Parameters, OAParam{Name: "Last-Event-ID", In: "header", Description: "resume after this global position", Schema: &Schema{Type: "string"}})
			op.Responses["200"] = OAResponse{Description: "Server-Sent Events: id is the global position, data the view's JSON; a last revoked event (access withdrawn) or expired event (the token expired: reconnect with a fresh one) ends the stream", Content: map[string]OAMediaType{"text/event-stream": {Schema: &Schema{Type: "string"}}}}
		case respText:
			op.Responses["200"] = OAResponse{Description: "text", Content: map[string]OAMediaType{"text/plain": {Schema: &Schema{Type: "string"}}}}
		case respCSV:
			op.Responses["200"] = OAResponse{Description: "CSV", Content: map[string]OAMediaType{"text/csv": {Schema: &Schema{Type: "string"}}}}
		case respHTML:
			op.Responses["200"] = OAResponse{Description: "an HTML page", Content: map[string]OAMediaType{"text/html": {Schema: &Schema{Type: "string"}}}}
		}
		if !r.public {
			op.Responses["400"] = errResp("invalid_input")
			op.Responses["401"] = errResp("unauthenticated")
			op.Responses["403"] = errResp("forbidden")
			op.Responses["404"] = errResp("not_found")
			op.Responses["503"] = errResp("unavailable")
			op.Responses["504"] = errResp("timeout")
		}
		if readsAtPosition(r) {
			op.Responses["400"] = errResp("invalid_input, or position_beyond_head: minPosition is beyond the end of the log")
		}
		if r.kind == respCommand {
			op.Responses["408"] = errResp("request_timeout: the body did not arrive within the body read timeout")
		}
		op.Responses["500"] = errResp("internal")
		p := OpenAPIPath(r.path)
		if doc.Paths[p] == nil {
			doc.Paths[p] = map[string]*OAOp{}
		}
		doc.Paths[p][strings.ToLower(r.method)] = op
	}
	return doc
}

// closed marks every object schema of a request body as allowing no other properties,
// as the server's decoder refuses unknown fields.
func closed(s *Schema) *Schema {
	if s == nil {
		return s
	}
	if s.Type == "object" && s.Properties != nil {
		s.AdditionalProperties = false
		for _, p := range s.Properties {
			closed(p)
		}
	}
	closed(s.Items)
	return s
}

var (
	timeType = reflect.TypeOf(time.Time{})
	rawType  = reflect.TypeOf(json.RawMessage{})
)

// schemaOf derives a JSON schema from a Go type's JSON encoding (json tags, omitempty,
// "-" skipped, embedded structs flattened). A type that contains itself is described
// as a plain object where it recurs.
func schemaOf(t reflect.Type) *Schema { return schemaOfSeen(t, map[reflect.Type]bool{}) }

func schemaOfSeen(t reflect.Type, seen map[reflect.Type]bool) *Schema {
	switch {
	case t == timeType:
		return &Schema{Type: "string", Format: "date-time"}
	case t == rawType:
		return &Schema{}
	}
	switch t.Kind() {
	case reflect.Pointer:
		s := schemaOfSeen(t.Elem(), seen)
		s.Nullable = true
		return s
	case reflect.String:
		return &Schema{Type: "string"}
	case reflect.Bool:
		return &Schema{Type: "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return &Schema{Type: "integer"}
	case reflect.Float32, reflect.Float64:
		return &Schema{Type: "number"}
	case reflect.Slice, reflect.Array:
		return &Schema{Type: "array", Items: schemaOfSeen(t.Elem(), seen)}
	case reflect.Map:
		return &Schema{Type: "object", AdditionalProperties: schemaOfSeen(t.Elem(), seen)}
	case reflect.Interface:
		return &Schema{}
	case reflect.Struct:
		if seen[t] {
			return &Schema{Type: "object"}
		}
		seen[t] = true
		defer delete(seen, t)
		s := &Schema{Type: "object", Properties: map[string]*Schema{}}
		addFields(s, t, seen)
		return s
	}
	return &Schema{}
}

func addFields(s *Schema, t reflect.Type, seen map[reflect.Type]bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			addFields(s, f.Type, seen)
			continue
		}
		if name == "" {
			name = f.Name
		}
		s.Properties[name] = schemaOfSeen(f.Type, seen)
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			s.Required = append(s.Required, name)
		}
	}
}
