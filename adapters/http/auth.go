package httpapi

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/medalliance/allianced/domain"
)

// Roles a token may carry. A token may carry several (a lead department's user is
// usually lead and member of other alliances).
const (
	RoleLead    = "lead"           // acts for the lead department of alliances
	RoleMember  = "member"         // acts for a member hospital
	RoleAuditor = "auditor"        // reads everything, changes nothing
	RoleAdmin   = domain.RoleAdmin // registers hospitals, and practitioners for any hospital
)

var knownRoles = []string{RoleLead, RoleMember, RoleAuditor, RoleAdmin}

// Claims are the JWT claims the service reads: sub (the user), hid (the hospital the
// user acts for), dept (the department) and roles, with exp required.
type Claims struct {
	HospitalID   string   `json:"hid"`
	DepartmentID string   `json:"dept,omitempty"`
	Roles        []string `json:"roles"`
	jwt.RegisteredClaims
}

// Has reports whether the claims carry role.
func (c *Claims) Has(role string) bool { return slices.Contains(c.Roles, role) }

// AuditorOnly reports whether the token may only read: it carries the auditor role and
// no role that changes anything.
func (c *Claims) AuditorOnly() bool {
	return c.Has(RoleAuditor) && !c.Has(RoleLead) && !c.Has(RoleMember) && !c.Has(RoleAdmin)
}

// Actor is the domain actor the claims act as, under role.
func (c *Claims) Actor(role string) domain.Actor {
	return domain.Actor{HospitalID: c.HospitalID, DepartmentID: c.DepartmentID, UserID: c.Subject, Role: role}
}

// AuthConfig says how bearer tokens are verified. HS256Secret verifies HS256 tokens the
// service mints itself (single node, the `allianced token` subcommand); PublicKeyPEM
// verifies RS256 or ES256 tokens of a hospital identity provider (the PEM holds its
// public key). At least one must be set; with both, each key verifies only tokens of its
// own algorithm, so a token cannot switch algorithms to be checked with the wrong key.
type AuthConfig struct {
	HS256Secret  []byte
	PublicKeyPEM []byte
	// Issuer and Audience, when set, must match the token's iss and aud. They apply to
	// the identity provider's tokens when PublicKeyPEM is set (the service's own HS256
	// tokens then need neither), and to the HS256 tokens otherwise.
	Issuer   string
	Audience string
	// Leeway tolerates clock skew on exp and nbf (default 30s).
	Leeway time.Duration
	// Now is the clock used for exp (tests pin it); default time.Now.
	Now func() time.Time
}

// Verifier checks bearer tokens. It remembers tokens it verified until they expire (at
// most tokenCacheTTL, at most tokenCacheMax of them), so a client sending the same
// token on every request pays for the signature check and claims decoding once: on the
// hot plan read that check costs about as much as the rest of the handler.
type Verifier struct {
	keys   map[string]any // algorithm -> the key that verifies it
	parser *jwt.Parser
	// checkIssuer reports whether tokens of an algorithm must carry iss and aud.
	checkIssuer      func(alg string) bool
	issuer, audience string
	now              func() time.Time

	mu    sync.RWMutex
	cache map[string]cachedClaims
}

type cachedClaims struct {
	claims *Claims // shared and never modified
	until  time.Time
}

const (
	tokenCacheMax = 10_000
	tokenCacheTTL = 5 * time.Minute
)

// NewVerifier builds a token verifier from cfg. A PEM that holds no RSA or ECDSA public
// key, a short secret or no key at all is an error at start-up rather than at the first
// request.
func NewVerifier(cfg AuthConfig) (*Verifier, error) {
	if cfg.Leeway == 0 {
		cfg.Leeway = 30 * time.Second
	}
	v := &Verifier{keys: map[string]any{}, now: cfg.Now, cache: map[string]cachedClaims{}}
	if v.now == nil {
		v.now = time.Now
	}
	if len(cfg.PublicKeyPEM) > 0 {
		key, alg, err := parsePublicKey(cfg.PublicKeyPEM)
		if err != nil {
			return nil, err
		}
		v.keys[alg] = key
	}
	switch {
	case len(cfg.HS256Secret) >= 32:
		v.keys[jwt.SigningMethodHS256.Alg()] = append([]byte(nil), cfg.HS256Secret...)
	case len(cfg.HS256Secret) > 0:
		return nil, errors.New("auth: the HS256 secret must be at least 32 bytes")
	}
	if len(v.keys) == 0 {
		return nil, errors.New("auth: no token key configured (HS256 secret or public key PEM)")
	}
	algs := make([]string, 0, len(v.keys))
	for alg := range v.keys {
		algs = append(algs, alg)
	}
	v.parser = jwt.NewParser(jwt.WithExpirationRequired(), jwt.WithLeeway(cfg.Leeway), jwt.WithValidMethods(algs), jwt.WithTimeFunc(v.now))
	v.issuer, v.audience = cfg.Issuer, cfg.Audience
	hasIdP := len(cfg.PublicKeyPEM) > 0
	v.checkIssuer = func(alg string) bool { return !hasIdP || alg != jwt.SigningMethodHS256.Alg() }
	return v, nil
}

func parsePublicKey(data []byte) (any, string, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, "", errors.New("auth: the public key file holds no PEM block")
	}
	var pub any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			pub = cert.PublicKey
		}
	default:
		return nil, "", errors.New("auth: unsupported PEM block " + block.Type + " (want PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE)")
	}
	if err != nil {
		return nil, "", errors.New("auth: parse public key: " + err.Error())
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return nil, "", errors.New("auth: RSA public key shorter than 2048 bits")
		}
		return k, jwt.SigningMethodRS256.Alg(), nil
	case *ecdsa.PublicKey:
		if k.Curve.Params().BitSize != 256 {
			return nil, "", errors.New("auth: ES256 needs a P-256 key")
		}
		return k, jwt.SigningMethodES256.Alg(), nil
	}
	return nil, "", errors.New("auth: the public key is neither RSA nor ECDSA")
}

// Verify parses and checks a compact JWT (signature, algorithm, exp, iss, aud) and the
// service's own claims (sub, hid, known roles). Any failure is unauthenticated, with a
// message that says what to fix but nothing about the key.
func (v *Verifier) Verify(token string) (*Claims, error) {
	now := v.now()
	v.mu.RLock()
	hit, ok := v.cache[token]
	v.mu.RUnlock()
	if ok && now.Before(hit.until) {
		return hit.claims, nil
	}
	c, err := v.verify(token)
	if err != nil {
		return nil, err
	}
	until := now.Add(tokenCacheTTL)
	if exp := c.ExpiresAt.Time; exp.Before(until) {
		until = exp
	}
	v.mu.Lock()
	if len(v.cache) >= tokenCacheMax {
		clear(v.cache) // crude but bounded; the next requests re-verify
	}
	v.cache[token] = cachedClaims{claims: c, until: until}
	v.mu.Unlock()
	return c, nil
}

func (v *Verifier) verify(token string) (*Claims, error) {
	var c Claims
	tok, err := v.parser.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		if key, ok := v.keys[t.Method.Alg()]; ok {
			return key, nil
		}
		return nil, jwt.ErrTokenUnverifiable
	})
	if err == nil && v.checkIssuer(tok.Method.Alg()) {
		if v.issuer != "" && c.Issuer != v.issuer {
			err = jwt.ErrTokenInvalidIssuer
		} else if v.audience != "" && !slices.Contains(c.Audience, v.audience) {
			err = jwt.ErrTokenInvalidAudience
		}
	}
	if err != nil {
		msg := "the bearer token is invalid"
		switch {
		case errors.Is(err, jwt.ErrTokenExpired):
			msg = "the bearer token has expired"
		case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
			msg = "the bearer token lacks a required claim (exp)"
		case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
			msg = "the bearer token's signature or algorithm is not accepted"
		case errors.Is(err, jwt.ErrTokenInvalidIssuer):
			msg = "the bearer token's issuer is not accepted"
		case errors.Is(err, jwt.ErrTokenInvalidAudience):
			msg = "the bearer token's audience is not accepted"
		case errors.Is(err, jwt.ErrTokenMalformed):
			msg = "the bearer token is malformed"
		}
		return nil, domain.Errorf(domain.CodeUnauthenticated, "%s", msg)
	}
	if c.Subject == "" || c.HospitalID == "" {
		return nil, domain.Errorf(domain.CodeUnauthenticated, "the bearer token must name the user (sub) and hospital (hid)")
	}
	if len(c.Roles) == 0 {
		return nil, domain.Errorf(domain.CodeUnauthenticated, "the bearer token carries no roles")
	}
	for _, r := range c.Roles {
		if !slices.Contains(knownRoles, r) {
			return nil, domain.Errorf(domain.CodeUnauthenticated, "the bearer token carries an unknown role %q", truncate(r, 20))
		}
	}
	return &c, nil
}

// bearer extracts the token of an Authorization: Bearer header.
func bearer(header string) (string, bool) {
	const prefix = "bearer "
	if len(header) <= len(prefix) || !strings.EqualFold(header[:len(prefix)], prefix) {
		return "", false
	}
	return strings.TrimSpace(header[len(prefix):]), true
}

// validFor returns how long the verified claims c remain valid by the verifier's clock
// (exp itself, without the leeway granted to clock skew); 0 when they have expired.
func (v *Verifier) validFor(c *Claims) time.Duration {
	if c.ExpiresAt == nil {
		return 0
	}
	return max(c.ExpiresAt.Time.Sub(v.now()), 0)
}

// MintToken signs an HS256 token for claims, valid for ttl from now (the `allianced
// token` subcommand and tests use it; a hospital identity provider mints its own).
func MintToken(secret []byte, claims Claims, ttl time.Duration) (string, error) {
	if len(secret) < 32 {
		return "", errors.New("mint token: the secret must be at least 32 bytes")
	}
	if ttl <= 0 {
		return "", errors.New("mint token: ttl must be positive")
	}
	now := time.Now()
	if claims.IssuedAt == nil {
		claims.IssuedAt = jwt.NewNumericDate(now)
	}
	claims.ExpiresAt = jwt.NewNumericDate(now.Add(ttl))
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
