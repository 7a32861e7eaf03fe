package eventstore

import (
	"encoding"
	"encoding/binary"
	"encoding/json"
	"reflect"
	"sync"
	"time"
	"unicode/utf8"
)

// unmarshalJSON decodes data into v (a non-nil pointer) with exactly the result
// encoding/json's Unmarshal gives, faster for the JSON the service writes.
//
// It walks the bytes once with a decoder compiled per Go type (structs of strings,
// integers, bools, slices, pointers, time.Time and text-unmarshalled types such as
// ulid.ULID). Anything outside that canonical shape — a key it does not know or that
// repeats, an escaped string, a null, a non-integer number, a type it does not compile —
// is either handed, value by value, to encoding/json (which gives that value the same
// meaning it would have inside the whole document), or the whole input is decoded again
// by encoding/json from a zero value. Either way the result and any error are
// encoding/json's own; the fast path only decides when it is safe to skip it.
func unmarshalJSON(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return json.Unmarshal(data, v)
	}
	c := codecOf(rv.Type().Elem())
	if c == nil {
		return json.Unmarshal(data, v)
	}
	p := parser{b: data}
	p.ws()
	if p.value(rv.Elem(), c) {
		p.ws()
		if p.i == len(p.b) {
			return nil
		}
	}
	rv.Elem().SetZero()
	return json.Unmarshal(data, v)
}

type op uint8

const (
	opFallback op = iota // hand the value to encoding/json
	opString
	opBool
	opInt
	opUint
	opTime   // time.Time: its UnmarshalJSON on the raw string
	opText   // encoding.TextUnmarshaler (and not json.Unmarshaler): UnmarshalText on a plain string
	opStruct // fields by exact name
	opSlice
	opPointer
)

// codec is the compiled decoder of one Go type.
type codec struct {
	op     op
	elem   *codec  // opSlice, opPointer
	fields []field // opStruct, at most 64
}

type field struct {
	name  string
	index int
	c     *codec
}

var (
	codecs       sync.Map // reflect.Type -> *codec (nil when the type is not compiled)
	timeType     = reflect.TypeFor[time.Time]()
	jsonUnmarsh  = reflect.TypeFor[json.Unmarshaler]()
	textUnmarsh  = reflect.TypeFor[encoding.TextUnmarshaler]()
	fallbackOnly = &codec{op: opFallback}
)

// codecOf returns t's compiled decoder, or nil when t's top level is better left to
// encoding/json entirely.
func codecOf(t reflect.Type) *codec {
	if c, ok := codecs.Load(t); ok {
		return c.(*codec)
	}
	c := compile(t, map[reflect.Type]bool{})
	if c == fallbackOnly {
		c = nil
	}
	codecs.Store(t, c)
	return c
}

// compile builds t's decoder. Types it cannot decode with certainty of matching
// encoding/json (embedded fields, ",string" options, clashing names, recursion,
// maps, floats, interfaces, arrays, byte slices, custom JSON unmarshalers) fall back.
func compile(t reflect.Type, busy map[reflect.Type]bool) *codec {
	if t == timeType {
		return &codec{op: opTime}
	}
	pt := reflect.PointerTo(t)
	if t.Implements(jsonUnmarsh) || pt.Implements(jsonUnmarsh) {
		return fallbackOnly
	}
	if t.Implements(textUnmarsh) || pt.Implements(textUnmarsh) {
		if t.Kind() == reflect.Pointer {
			return fallbackOnly
		}
		return &codec{op: opText}
	}
	switch t.Kind() {
	case reflect.String:
		return &codec{op: opString}
	case reflect.Bool:
		return &codec{op: opBool}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return &codec{op: opInt}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return &codec{op: opUint}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return fallbackOnly // base64
		}
		return &codec{op: opSlice, elem: compileIn(t.Elem(), busy)}
	case reflect.Pointer:
		return &codec{op: opPointer, elem: compileIn(t.Elem(), busy)}
	case reflect.Struct:
		if busy[t] {
			return fallbackOnly
		}
		busy[t] = true
		defer delete(busy, t)
		c := &codec{op: opStruct}
		names := map[string]bool{}
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Anonymous {
				return fallbackOnly
			}
			if !f.IsExported() {
				continue
			}
			name := f.Name
			if tag, ok := f.Tag.Lookup("json"); ok {
				if tag == "-" {
					continue
				}
				tn, opts, _ := cut(tag, ',')
				if opts != "" && opts != "omitempty" && opts != "omitzero" && opts != "omitempty,omitzero" && opts != "omitzero,omitempty" {
					return fallbackOnly
				}
				if tn != "" {
					if !plainName(tn) {
						return fallbackOnly
					}
					name = tn
				}
			}
			if names[name] {
				return fallbackOnly
			}
			names[name] = true
			c.fields = append(c.fields, field{name: name, index: i, c: compileIn(f.Type, busy)})
		}
		if len(c.fields) > 64 {
			return fallbackOnly
		}
		return c
	}
	return fallbackOnly
}

func compileIn(t reflect.Type, busy map[reflect.Type]bool) *codec { return compile(t, busy) }

func cut(s string, sep byte) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// plainName reports whether a tag name is one encoding/json takes as is (letters,
// digits, '_' and '-'), so the key to match is exactly the name.
func plainName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// parser walks a JSON document; every method returns false when the fast path gives up.
type parser struct {
	b []byte
	i int
	// s is b copied once into a string when the first string field is set: every
	// string field is then a substring of it, one allocation per document instead of
	// one per field. (It keeps the document's bytes alive as long as any field is,
	// which for a stored event's few hundred bytes costs less than the headers saved.)
	s string
}

// str returns the document's text from a to b as a string, sharing one copy.
func (p *parser) str(a, b int) string {
	if p.s == "" {
		p.s = string(p.b)
	}
	return p.s[a:b]
}

func (p *parser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// value decodes the value at p.i into v (addressable) with c.
func (p *parser) value(v reflect.Value, c *codec) bool {
	if p.i >= len(p.b) {
		return false
	}
	switch c.op {
	case opString:
		start := p.i
		if _, ok := p.plainString(); ok {
			v.SetString(p.str(start+1, p.i-1))
			return true
		}
	case opBool:
		if p.literal("true") {
			v.SetBool(true)
			return true
		}
		if p.literal("false") {
			v.SetBool(false)
			return true
		}
	case opInt:
		if n, ok := p.integer(true); ok {
			if v.OverflowInt(n) {
				return false
			}
			v.SetInt(n)
			return true
		}
	case opUint:
		if n, ok := p.integer(false); ok {
			if v.OverflowUint(uint64(n)) {
				return false
			}
			v.SetUint(uint64(n))
			return true
		}
	case opTime:
		start := p.i
		if _, ok := p.plainString(); ok {
			return v.Addr().Interface().(*time.Time).UnmarshalJSON(p.b[start:p.i]) == nil
		}
	case opText:
		if s, ok := p.plainString(); ok {
			return v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText(s) == nil
		}
	case opStruct:
		if p.b[p.i] == '{' {
			return p.object(v, c)
		}
	case opSlice:
		if p.b[p.i] == '[' {
			return p.array(v, c.elem)
		}
	case opPointer:
		if p.b[p.i] != 'n' {
			e := reflect.New(v.Type().Elem())
			if !p.value(e.Elem(), c.elem) {
				return false
			}
			v.Set(e)
			return true
		}
	}
	return p.fallback(v)
}

// fallback hands the value at p.i to encoding/json, decoding it into v as it would
// inside the whole document.
func (p *parser) fallback(v reflect.Value) bool {
	start := p.i
	if !p.skip() {
		return false
	}
	return json.Unmarshal(p.b[start:p.i], v.Addr().Interface()) == nil
}

func (p *parser) object(v reflect.Value, c *codec) bool {
	p.i++ // '{'
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return true
	}
	var seen uint64
	next := 0 // encoding/json writes fields in declaration order: try that one first
	for {
		k := -1
		if next < len(c.fields) {
			if name := c.fields[next].name; len(p.b)-p.i > len(name)+1 && p.b[p.i] == '"' &&
				p.b[p.i+1+len(name)] == '"' && string(p.b[p.i+1:p.i+1+len(name)]) == name {
				k = next
				p.i += len(name) + 2
			}
		}
		if k < 0 {
			key, ok := p.plainString()
			if !ok {
				return false
			}
			for j := range c.fields {
				if c.fields[j].name == string(key) {
					k = j
					break
				}
			}
		}
		if k < 0 || seen&(1<<k) != 0 {
			return false // unknown (or case-folded) or repeated key: encoding/json decides
		}
		seen |= 1 << k
		next = k + 1
		p.ws()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return false
		}
		p.i++
		p.ws()
		f := &c.fields[k]
		if !p.value(v.Field(f.index), f.c) {
			return false
		}
		p.ws()
		if p.i >= len(p.b) {
			return false
		}
		switch p.b[p.i] {
		case ',':
			p.i++
			p.ws()
		case '}':
			p.i++
			return true
		default:
			return false
		}
	}
}

func (p *parser) array(v reflect.Value, elem *codec) bool {
	p.i++ // '['
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		return true
	}
	s := reflect.MakeSlice(v.Type(), 0, 4)
	for n := 0; ; n++ {
		if n == s.Cap() {
			s = reflect.AppendSlice(s, reflect.MakeSlice(v.Type(), n, n)).Slice(0, n)
		}
		s = s.Slice(0, n+1)
		if !p.value(s.Index(n), elem) {
			return false
		}
		p.ws()
		if p.i >= len(p.b) {
			return false
		}
		switch p.b[p.i] {
		case ',':
			p.i++
			p.ws()
		case ']':
			p.i++
			v.Set(s)
			return true
		default:
			return false
		}
	}
}

// plainString reads a string with no escapes, no control characters and valid UTF-8,
// returning its contents; anything else is left for encoding/json.
func (p *parser) plainString() ([]byte, bool) {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return nil, false
	}
	start := p.i + 1
	ascii := true
	j := start
	// Eight bytes at a time while none is a quote, a backslash or a control byte.
	for ; j+8 <= len(p.b); j += 8 {
		w := binary.LittleEndian.Uint64(p.b[j:])
		if hasZeroByte(w^(lsb*'"'))|hasZeroByte(w^(lsb*'\\'))|hasLess(w, 0x20) != 0 {
			break
		}
		if w&(lsb*0x80) != 0 {
			ascii = false
		}
	}
	for ; j < len(p.b); j++ {
		c := p.b[j]
		switch {
		case c == '"':
			s := p.b[start:j]
			if !ascii && !utf8.Valid(s) {
				return nil, false
			}
			p.i = j + 1
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false
}

// lsb has the lowest bit of every byte of a word set: lsb*c repeats byte c.
const lsb = 0x0101010101010101

// hasZeroByte is non-zero exactly when some byte of w is 0.
func hasZeroByte(w uint64) uint64 { return (w - lsb) &^ w & (lsb * 0x80) }

// hasLess is non-zero exactly when some byte of w is below n (n <= 128).
func hasLess(w, n uint64) uint64 { return (w - lsb*n) &^ w & (lsb * 0x80) }

func (p *parser) literal(lit string) bool {
	if len(p.b)-p.i >= len(lit) && string(p.b[p.i:p.i+len(lit)]) == lit {
		p.i += len(lit)
		return true
	}
	return false
}

// integer reads an integer written without fraction or exponent and at most 18 digits
// (so it cannot overflow int64); other numbers are left for encoding/json.
func (p *parser) integer(signed bool) (int64, bool) {
	j := p.i
	neg := false
	if j < len(p.b) && p.b[j] == '-' {
		if !signed {
			return 0, false
		}
		neg = true
		j++
	}
	d := j
	var n int64
	for j < len(p.b) && p.b[j] >= '0' && p.b[j] <= '9' {
		n = n*10 + int64(p.b[j]-'0')
		j++
	}
	digits := j - d
	if digits == 0 || digits > 18 || (digits > 1 && p.b[d] == '0') {
		return 0, false
	}
	if j < len(p.b) {
		switch p.b[j] {
		case '.', 'e', 'E':
			return 0, false
		}
	}
	p.i = j
	if neg {
		n = -n
	}
	return n, true
}

// skip moves past one value without interpreting it, for fallback: encoding/json then
// checks that the bytes skipped are one valid value.
func (p *parser) skip() bool {
	depth := 0
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch c {
		case '"':
			j := p.i + 1
			for ; j < len(p.b) && p.b[j] != '"'; j++ {
				if p.b[j] == '\\' {
					j++
				}
			}
			if j >= len(p.b) {
				return false
			}
			p.i = j + 1
		case '{', '[':
			depth++
			p.i++
			continue
		case '}', ']':
			if depth == 0 {
				return true
			}
			depth--
			p.i++
		case ',':
			if depth == 0 {
				return true
			}
			p.i++
			continue
		default:
			p.i++
			if depth == 0 && !(c == ' ' || c == '\t' || c == '\n' || c == '\r') {
				// a literal or number: run to the next delimiter
				for p.i < len(p.b) {
					switch p.b[p.i] {
					case ',', '}', ']', ' ', '\t', '\n', '\r':
						return true
					}
					p.i++
				}
				return true
			}
			continue
		}
		if depth == 0 {
			return true
		}
	}
	return false
}
