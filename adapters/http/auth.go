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
	RoleLead    = "lead"    // acts for the lead department of alliances
	RoleMember  = "member"  // acts for a member hospital
	RoleAuditor = "auditor" // reads everything, changes nothing
	RoleAdmin   = "admin"   // registers hospitals
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

// AuthConfig says how bearer tokens are verified. Exactly one of HS256Secret (single
// node: the service signs its own tokens) and PublicKeyPEM (a hospital identity
// provider signs with RS256 or ES256; the PEM holds its public key) must be set.
type AuthConfig struct {
	HS256Secret  []byte
	PublicKeyPEM []byte
	// Issuer and Audience, when set, must match the token's iss and aud.
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
	key    any
	parser *jwt.Parser
	now    func() time.Time

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
// key, or a missing key, is an error at start-up rather than at the first request.
func NewVerifier(cfg AuthConfig) (*Verifier, error) {
	if cfg.Leeway == 0 {
		cfg.Leeway = 30 * time.Second
	}
	opts := []jwt.ParserOption{jwt.WithExpirationRequired(), jwt.WithLeeway(cfg.Leeway)}
	if cfg.Now != nil {
		opts = append(opts, jwt.WithTimeFunc(cfg.Now))
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	v := &Verifier{now: cfg.Now, cache: map[string]cachedClaims{}}
	if v.now == nil {
		v.now = time.Now
	}
	switch {
	case len(cfg.PublicKeyPEM) > 0 && len(cfg.HS256Secret) > 0:
		return nil, errors.New("auth: configure either an HS256 secret or a public key, not both")
	case len(cfg.PublicKeyPEM) > 0:
		key, alg, err := parsePublicKey(cfg.PublicKeyPEM)
		if err != nil {
			return nil, err
		}
		v.key = key
		opts = append(opts, jwt.WithValidMethods([]string{alg}))
	case len(cfg.HS256Secret) >= 32:
		v.key = append([]byte(nil), cfg.HS256Secret...)
		opts = append(opts, jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}))
	case len(cfg.HS256Secret) > 0:
		return nil, errors.New("auth: the HS256 secret must be at least 32 bytes")
	default:
		return nil, errors.New("auth: no token key configured (HS256 secret or public key PEM)")
	}
	v.parser = jwt.NewParser(opts...)
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
	_, err := v.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return v.key, nil })
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
