package eventstore

// UnmarshalJSON exposes the fast decoder to the external tests, which compare it with
// encoding/json.
var UnmarshalJSON = unmarshalJSON
