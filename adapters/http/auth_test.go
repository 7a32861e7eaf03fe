package httpapi_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	httpapi "github.com/medalliance/allianced/adapters/http"
)

func sign(t *testing.T, method jwt.SigningMethod, key any, claims jwt.Claims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func claims(exp time.Time) httpapi.Claims {
	c := httpapi.Claims{HospitalID: "01J00000000000000000000001", DepartmentID: "haem", Roles: []string{httpapi.RoleAuditor},
		RegisteredClaims: jwt.RegisteredClaims{Subject: "u1"}}
	if !exp.IsZero() {
		c.ExpiresAt = jwt.NewNumericDate(exp)
	}
	return c
}

func TestAuthentication(t *testing.T) {
	f := newFixture(t)
	later := time.Now().Add(time.Hour)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	noRoles := claims(later)
	noRoles.Roles = nil
	badRole := claims(later)
	badRole.Roles = []string{"superuser"}
	noHID := claims(later)
	noHID.HospitalID = ""
	tests := []struct {
		name   string
		header string
		want   int
	}{
		{"missing header", "", 401},
		{"not bearer", "Basic dXNlcjpwYXNz", 401},
		{"garbage token", "Bearer not.a.jwt", 401},
		{"expired", "Bearer " + sign(t, jwt.SigningMethodHS256, testSecret, claims(time.Now().Add(-time.Hour))), 401},
		{"no exp", "Bearer " + sign(t, jwt.SigningMethodHS256, testSecret, claims(time.Time{})), 401},
		{"wrong secret", "Bearer " + sign(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-000"), claims(later)), 401},
		{"wrong alg HS384", "Bearer " + sign(t, jwt.SigningMethodHS384, testSecret, claims(later)), 401},
		{"wrong alg RS256", "Bearer " + sign(t, jwt.SigningMethodRS256, rsaKey, claims(later)), 401},
		{"alg none", "Bearer " + sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(later)), 401},
		{"no roles", "Bearer " + sign(t, jwt.SigningMethodHS256, testSecret, noRoles), 401},
		{"unknown role", "Bearer " + sign(t, jwt.SigningMethodHS256, testSecret, badRole), 401},
		{"no hospital", "Bearer " + sign(t, jwt.SigningMethodHS256, testSecret, noHID), 401},
		{"valid", "Bearer " + sign(t, jwt.SigningMethodHS256, testSecret, claims(later)), 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(http.MethodGet, "/v1/audit/events", "", "", "Authorization", tc.header)
			if r.status != tc.want {
				t.Fatalf("got %d %s, want %d", r.status, r.body, tc.want)
			}
			if tc.want == 401 && (r.code(t) != "unauthenticated" || r.header.Get("WWW-Authenticate") == "") {
				t.Fatalf("got code %q, WWW-Authenticate %q", r.code(t), r.header.Get("WWW-Authenticate"))
			}
		})
	}
}

func TestPublicKeyTokens(t *testing.T) {
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&ecKey.PublicKey)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	f := newFixture(t, func(c *httpapi.Config, _ *httpapi.Deps) {
		c.Auth = httpapi.AuthConfig{PublicKeyPEM: pemKey, Issuer: "https://idp.example-hospital.cn", Audience: "allianced"}
	})
	good := claims(time.Now().Add(time.Hour))
	good.Issuer, good.Audience = "https://idp.example-hospital.cn", jwt.ClaimStrings{"allianced"}
	wrongIss := good
	wrongIss.Issuer = "https://evil.example"
	wrongAud := good
	wrongAud.Audience = jwt.ClaimStrings{"someone-else"}
	tests := []struct {
		name  string
		token string
		want  int
	}{
		{"ES256 valid", sign(t, jwt.SigningMethodES256, ecKey, good), 200},
		{"wrong issuer", sign(t, jwt.SigningMethodES256, ecKey, wrongIss), 401},
		{"wrong audience", sign(t, jwt.SigningMethodES256, ecKey, wrongAud), 401},
		{"HS256 with the public key as secret", sign(t, jwt.SigningMethodHS256, pemKey, good), 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if r := f.do(http.MethodGet, "/v1/audit/events", tc.token, ""); r.status != tc.want {
				t.Fatalf("got %d %s, want %d", r.status, r.body, tc.want)
			}
		})
	}
}

func TestRS256PublicKey(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	f := newFixture(t, func(c *httpapi.Config, _ *httpapi.Deps) {
		c.Auth = httpapi.AuthConfig{PublicKeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})}
	})
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	later := time.Now().Add(time.Hour)
	if r := f.do("GET", "/v1/audit/events", sign(t, jwt.SigningMethodRS256, key, claims(later)), ""); r.status != 200 {
		t.Fatalf("RS256 token: %d %s", r.status, r.body)
	}
	if r := f.do("GET", "/v1/audit/events", sign(t, jwt.SigningMethodRS256, other, claims(later)), ""); r.status != 401 {
		t.Fatalf("token of another key: %d", r.status)
	}
	if _, err := httpapi.NewVerifier(httpapi.AuthConfig{PublicKeyPEM: []byte("not a pem")}); err == nil {
		t.Fatal("a bad PEM was accepted at start-up")
	}
}

func TestAuthorization(t *testing.T) {
	f := newFixture(t)
	w := f.world()
	auditorAndMember := f.token("u", w.m1, "haem", httpapi.RoleAuditor, httpapi.RoleMember)
	tests := []struct {
		name, method, path, token, body string
		want                            int
	}{
		{"auditor POST", "POST", "/v1/alliances", w.auditor, `{"name":"x","specialty":"y","kind":"specialist"}`, 403},
		{"auditor POST hospital", "POST", "/v1/hospitals", w.auditor, `{}`, 403},
		{"auditor reads the log", "GET", "/v1/audit/events", w.auditor, ``, 200},
		{"auditor verifies", "GET", "/v1/audit/verify", w.auditor, ``, 200},
		{"member cannot read the log", "GET", "/v1/audit/events", w.m1Tok, ``, 403},
		{"admin cannot read the log", "GET", "/v1/audit/events", w.admin, ``, 403},
		{"member cannot register hospitals", "POST", "/v1/hospitals", w.m1Tok, `{}`, 403},
		{"member cannot admit members", "POST", "/v1/alliances/" + w.alliance + "/members", w.m1Tok, `{"hospitalId":"` + w.m2 + `","tier":"member"}`, 403},
		{"member cannot publish protocols", "POST", "/v1/alliances/" + w.alliance + "/protocols", w.m1Tok, `{"title":"R-CHOP","indication":"DLBCL"}`, 403},
		{"member cannot add departments to another hospital", "POST", "/v1/hospitals/" + w.m2 + "/departments", w.m1Tok, `{"id":"icu","name":"ICU"}`, 403},
		{"a lead of another department is refused by the domain", "POST", "/v1/alliances/" + w.alliance + "/members/" + w.m1 + "/suspend",
			f.token("dr-x", w.lead, "cardio", httpapi.RoleLead), `{"reason":"r"}`, 403},
		{"auditor with another role may act under it", "POST", "/v1/alliances/" + w.alliance + "/members/" + w.m1 + "/withdraw", auditorAndMember, `{"reason":"leaving"}`, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(tc.method, tc.path, tc.token, tc.body)
			if r.status != tc.want {
				t.Fatalf("got %d %s, want %d", r.status, r.body, tc.want)
			}
		})
	}
}

func TestMintTokenRoundTrip(t *testing.T) {
	if _, err := httpapi.MintToken([]byte("short"), httpapi.Claims{}, time.Hour); err == nil {
		t.Fatal("a short secret was accepted")
	}
	v, err := httpapi.NewVerifier(httpapi.AuthConfig{HS256Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := httpapi.MintToken(testSecret, claims(time.Time{}), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.Verify(tok)
	if err != nil || c.Subject != "u1" || c.DepartmentID != "haem" || !c.Has(httpapi.RoleAuditor) {
		t.Fatalf("got %+v, %v", c, err)
	}
}

// TestVerifierCacheHonoursExpiry: a remembered token stops working when it expires.
func TestVerifierCacheHonoursExpiry(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	v, err := httpapi.NewVerifier(httpapi.AuthConfig{HS256Secret: testSecret, Leeway: time.Second, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	tok := sign(t, jwt.SigningMethodHS256, testSecret, claims(now.Add(time.Minute)))
	for i := range 2 { // the second call is served from the cache
		if _, err := v.Verify(tok); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	now = now.Add(2 * time.Minute)
	if _, err := v.Verify(tok); err == nil {
		t.Fatal("an expired token was accepted from the cache")
	}
}

// TestBothKeys: a node that mints its own HS256 tokens and also accepts an identity
// provider's ES256 tokens checks each with its own key, and iss/aud only on the latter.
func TestBothKeys(t *testing.T) {
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&ecKey.PublicKey)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	f := newFixture(t, func(c *httpapi.Config, _ *httpapi.Deps) {
		c.Auth = httpapi.AuthConfig{HS256Secret: testSecret, PublicKeyPEM: pemKey, Issuer: "https://idp.example", Audience: "allianced"}
	})
	later := time.Now().Add(time.Hour)
	idp := claims(later)
	idp.Issuer, idp.Audience = "https://idp.example", jwt.ClaimStrings{"allianced"}
	tests := []struct {
		name, token string
		want        int
	}{
		{"own HS256 token without iss", sign(t, jwt.SigningMethodHS256, testSecret, claims(later)), 200},
		{"IdP ES256 token", sign(t, jwt.SigningMethodES256, ecKey, idp), 200},
		{"IdP ES256 token without iss", sign(t, jwt.SigningMethodES256, ecKey, claims(later)), 401},
		{"HS256 signed with the public key", sign(t, jwt.SigningMethodHS256, pemKey, idp), 401},
		{"RS256 (no such key)", sign(t, jwt.SigningMethodRS256, mustRSA(t), idp), 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if r := f.do("GET", "/v1/audit/events", tc.token, ""); r.status != tc.want {
				t.Fatalf("got %d %s, want %d", r.status, r.body, tc.want)
			}
		})
	}
}

func mustRSA(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
