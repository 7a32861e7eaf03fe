// Package e2e builds the real allianced binary, starts it on a loopback port with a
// temporary data directory and drives it over HTTP the way a lead department, a member
// hospital and an auditor would (go test ./e2e/). Nothing here imports the service's
// packages: the tests see only what a client sees (routes, status codes, JSON bodies,
// headers, exit codes).
package e2e
