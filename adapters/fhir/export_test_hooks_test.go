package fhir

// WriteNDJSON exposes writeNDJSON to the external tests and benchmarks.
var WriteNDJSON = writeNDJSON
