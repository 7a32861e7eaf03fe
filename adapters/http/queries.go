package httpapi

// Queries is the read side the server needs (the projections package's queries).
type Queries interface{}
