package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/medalliance/allianced/adapters/app"
	"github.com/medalliance/allianced/domain"
)

// CommandResponse is the body of every successful command: the aggregate's id, its
// stream version after the command (also the ETag) and the global position of the last
// event (send it back as ?minPosition= to read your own write).
type CommandResponse struct {
	ID       string `json:"id"`
	Version  uint64 `json:"version"`
	Position uint64 `json:"position"`
	// DeviationID is the id of a reported plan deviation (deviation reports only).
	DeviationID string `json:"deviationId,omitempty"`
	// ReferralID is a referral the command opened besides its own aggregate: the return
	// referral of a completion, or the referral of a plan escalation.
	ReferralID string `json:"referralId,omitempty"`
	// ShiftID is the duty shift a roster command added to a diagnostic centre.
	ShiftID string `json:"shiftId,omitempty"`
}

// useCase is the shape of every app command method.
type useCase[In any] func(ctx context.Context, call app.Call, in In) (app.Outcome, error)

// command builds the handler of a command route: decode the body strictly into In, let
// bind copy path parameters into it, run the use case with the call's semantics and
// answer with the outcome. created says the command creates an aggregate (201).
func command[In any](s *Server, roles []string, created bool, bind func(c echo.Context, in *In) error, run useCase[In]) func(echo.Context, *Claims) error {
	return func(c echo.Context, p *Claims) error {
		var in In
		body, err := s.decode(c, &in)
		if err != nil {
			return err
		}
		if bind != nil {
			if err := bind(c, &in); err != nil {
				return err
			}
		}
		call, err := s.call(c, p, roles)
		if err != nil {
			return err
		}
		if call.IdempotencyKey != "" {
			call.Operation = c.Request().Method + " " + c.Path()
			call.RequestDigest = requestDigest(call.Operation, c.ParamNames(), c.ParamValues(), body)
		}
		out, err := run(c.Request().Context(), call, in)
		if err != nil {
			return err
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		s.sawPosition(uint64(out.Position))
		h := c.Response().Header()
		h.Set("ETag", etag(out.Version))
		if out.Replayed {
			h.Set("Idempotent-Replayed", "true")
		}
		return c.JSON(status, CommandResponse{ID: out.ID, Version: out.Version, Position: uint64(out.Position), DeviationID: out.SubID, ReferralID: out.ReferralID, ShiftID: out.ShiftID})
	}
}

func etag(version uint64) string { return `"` + strconv.FormatUint(version, 10) + `"` }

// requestDigest identifies a command request for its Idempotency-Key: the hex SHA-256 of
// the operation (method and route), the target (the path parameters, by name) and the
// body in canonical JSON (see canonicalJSON). Two requests with the same digest are the
// same request, however their JSON was spaced or ordered.
func requestDigest(operation string, names, values []string, body []byte) string {
	h := sha256.New()
	field := func(s string) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	field(operation)
	for i, name := range names {
		if i < len(values) {
			field(name)
			field(values[i])
		}
	}
	field(string(canonicalJSON(body)))
	return hex.EncodeToString(h.Sum(nil))
}

// canonicalJSON re-encodes a decoded body with object keys sorted, no insignificant
// whitespace and numbers as written; an empty body is the empty object, which decodes
// to the same command. decode has already accepted the body, so it is valid JSON.
func canonicalJSON(body []byte) []byte {
	if len(bytes.TrimSpace(body)) == 0 {
		return []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return body
	}
	out, err := json.Marshal(v) // encoding/json sorts map keys
	if err != nil {
		return body
	}
	return out
}

// decode reads a JSON body into v and returns it as read: an empty body leaves v zero;
// unknown fields, trailing data, malformed JSON and bodies over the limit are clear 4xx
// errors.
func (s *Server) decode(c echo.Context, v any) ([]byte, error) {
	req := c.Request()
	if req.ContentLength > s.cfg.MaxBodyBytes {
		return nil, domain.Errorf(CodePayloadTooLarge, "the request body is %d bytes; the limit is %d", req.ContentLength, s.cfg.MaxBodyBytes)
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), req.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, domain.Errorf(CodePayloadTooLarge, "the request body exceeds the limit of %d bytes", s.cfg.MaxBodyBytes)
		}
		if domain.ErrorCode(err) == CodeRequestTimeout {
			return nil, err
		}
		return nil, domain.Errorf(domain.CodeInvalidInput, "the request body could not be read")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return body, nil
	}
	if ct := req.Header.Get(echo.HeaderContentType); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return nil, domain.Errorf(domain.CodeInvalidInput, "send the body as application/json")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return nil, domain.Errorf(domain.CodeInvalidInput, "the JSON body is invalid: %s", jsonProblem(err))
	}
	if dec.More() {
		return nil, domain.Errorf(domain.CodeInvalidInput, "the JSON body has data after its end")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, domain.Errorf(domain.CodeInvalidInput, "the JSON body has data after its end")
	}
	return body, nil
}

// jsonProblem describes a decoding error without echoing values from the body.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return "malformed JSON at byte " + strconv.FormatInt(syn.Offset, 10)
	case errors.As(err, &typ):
		return "field " + strconv.Quote(typ.Field) + " must be " + typ.Type.String()
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends too early"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	return "it is not a JSON object of the expected shape"
}

// call builds the use case's call: actor, idempotency key, correlation id and If-Match.
func (s *Server) call(c echo.Context, p *Claims, roles []string) (app.Call, error) {
	h := c.Request().Header
	call := app.Call{Actor: p.Actor(actingRole(p, roles)), CorrelationID: requestID(c)}
	if cid := h.Get("X-Correlation-ID"); validRequestID(cid) {
		call.CorrelationID = cid
	}
	if key := h.Get("Idempotency-Key"); key != "" {
		if len(key) > domain.MaxIdempotencyKey {
			return call, domain.Errorf(domain.CodeInvalidInput, "Idempotency-Key is %d characters; the limit is %d", len(key), domain.MaxIdempotencyKey)
		}
		call.IdempotencyKey = key
	}
	if im := h.Get("If-Match"); im != "" {
		v, err := parseIfMatch(im)
		if err != nil {
			return call, err
		}
		call.IfMatch = &v
	}
	return call, nil
}

// parseIfMatch reads the stream version of an If-Match header: "3", W/"3" or 3.
func parseIfMatch(v string) (uint64, error) {
	v = strings.TrimSpace(v)
	v = strings.TrimPrefix(v, "W/")
	v = strings.Trim(v, `"`)
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, domain.Errorf(domain.CodeInvalidInput, "If-Match must be the stream version from an ETag, e.g. \"3\"")
	}
	return n, nil
}

// principal returns the verified claims of the request.
func principal(c echo.Context) *Claims {
	p, _ := c.Get(principalKey).(*Claims)
	return p
}
